"""The Messages stream's consumer."""

from __future__ import annotations

from chat.fanout import fan_out
from chat.store.messages import message_from_image
from chat.streams import Change


def message_changed(change: Change) -> None:
    """A new message goes to every connected device of every member."""
    if change.event == "INSERT":
        fan_out(message_from_image(change.new_image))
