"""Messages stream -> `message` frames to every connected device of every member."""

from __future__ import annotations

from typing import Any

from chat.fanout import fan_out
from chat.store.messages import message_from_image
from chat.streams import ordered_stream_handler


def on_message(new_image: dict[str, Any], old_image: dict[str, Any] | None, event_name: str) -> None:
    if event_name == "INSERT":
        fan_out(message_from_image(new_image))


handler = ordered_stream_handler(on_message)
