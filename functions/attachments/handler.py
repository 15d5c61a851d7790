"""The `attachments` route function: the actions chat/actions.py gives it."""

from chat.api import route_handler

handler = route_handler("attachments")
