"""Construct ids derived from topology names."""

from __future__ import annotations


def pascal_case(name: str) -> str:
    """`receipt_push` -> `ReceiptPush`: the stem of a function's construct ids and logical ids."""
    return "".join(part.capitalize() for part in name.split("_"))
