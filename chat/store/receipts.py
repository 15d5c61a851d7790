"""Receipts: per-member watermarks and the log of their forward moves."""

from __future__ import annotations


def receipt_key(user_id: str, kind: str, seq: int) -> str:
    # Zero-padded so a key range is a seq range for one (user, kind).
    return f"{user_id}#{kind}#{seq:012d}"
