"""Receipts stream -> `receipt` frames (and the group's all-members watermark)."""

from __future__ import annotations

from typing import Any

from chat.receipts import on_receipt_logged
from chat.store.receipts import receipt_from_image
from chat.streams import ordered_stream_handler


def on_receipt(new_image: dict[str, Any], old_image: dict[str, Any] | None, event_name: str) -> None:
    if event_name == "INSERT":
        on_receipt_logged(*receipt_from_image(new_image))


handler = ordered_stream_handler(on_receipt)
