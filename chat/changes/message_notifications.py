"""The Messages stream's consumer for push notifications (a mapping of its own beside fan-out's, and a
module of its own: the notify function imports neither fan-out nor the protocol's frames)."""

from __future__ import annotations

from chat.notify import notify
from chat.store.messages import message_from_image
from chat.streams import Change


def message_stored(change: Change) -> None:
    """A new message: a push notification to the members' devices without an open socket."""
    if change.event == "INSERT":
        notify(message_from_image(change.new_image))
