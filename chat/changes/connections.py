"""The Connections stream's consumer."""

from __future__ import annotations

import time

from chat import presence
from chat.store.connections import connection_from_image
from chat.store.presence import watch_from_image
from chat.streams import Change


def connection_changed(change: Change) -> None:
    """A device came or went; MODIFY only changes its watched set."""
    if change.event == "INSERT":
        presence.connection_opened(connection_from_image(change.new_image))
    elif change.event == "REMOVE" and change.old_image:
        presence.connection_closed(
            connection_from_image(change.old_image),
            watch_from_image(change.old_image),
            # When DynamoDB removed the record (a record without that time: now).
            change.changed_at or time.time(),
        )
