"""The `preferences` route function: the actions chat/actions.py gives it (mute, unmute, block, unblock)."""

from chat.api import route_handler

handler = route_handler("preferences")
