"""The `preferences` route function: the actions chat/actions.py gives it (mute, unmute)."""

from chat.api import route_handler

handler = route_handler("preferences")
