"""Connections stream -> online / last seen, pushed as `presence` to the connections watching the user."""

from __future__ import annotations

from typing import Any

from chat import presence
from chat.store.connections import connection_from_image
from chat.store.presence import watch_from_image
from chat.streams import ordered_stream_handler


def on_connection_change(new_image: dict[str, Any], old_image: dict[str, Any] | None, event_name: str) -> None:
    # MODIFY only changes a connection's watched set: no presence change.
    if event_name == "INSERT":
        presence.connection_opened(connection_from_image(new_image))
    elif event_name == "REMOVE" and old_image:
        presence.connection_closed(connection_from_image(old_image), watch_from_image(old_image))


handler = ordered_stream_handler(on_connection_change)
