"""The Receipts stream's consumer."""

from __future__ import annotations

from chat.receipts import on_receipt_logged
from chat.store.receipts import receipt_from_image
from chat.streams import Change


def receipt_logged(change: Change) -> None:
    """The Receipts table is an append-only log: a watermark moved; push it."""
    if change.event == "INSERT":
        on_receipt_logged(*receipt_from_image(change.new_image))
