"""What each stream's records mean to the domain: decoded from the stream image and filtered by
event, then handed to the domain function (chat/topology.py names these consumers per stream)."""

from __future__ import annotations

import time

from chat import presence
from chat.fanout import fan_out
from chat.receipts import on_receipt_logged
from chat.store.connections import connection_from_image
from chat.store.messages import message_from_image
from chat.store.presence import watch_from_image
from chat.store.receipts import receipt_from_image
from chat.streams import Change


def message_changed(change: Change) -> None:
    """Messages stream: a new message goes to every connected device of every member."""
    if change.event == "INSERT":
        fan_out(message_from_image(change.new_image))


def receipt_logged(change: Change) -> None:
    """Receipts stream (an append-only log): a watermark moved; push it."""
    if change.event == "INSERT":
        on_receipt_logged(*receipt_from_image(change.new_image))


def connection_changed(change: Change) -> None:
    """Connections stream: a device came or went; MODIFY only changes its watched set."""
    if change.event == "INSERT":
        presence.connection_opened(connection_from_image(change.new_image))
    elif change.event == "REMOVE" and change.old_image:
        presence.connection_closed(
            connection_from_image(change.old_image),
            watch_from_image(change.old_image),
            # When DynamoDB removed the record (a record without that time: now).
            change.changed_at or time.time(),
        )
