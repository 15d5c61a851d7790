"""$default: frames that match no route (not JSON, no action, unknown action) get their error."""

from chat.api import route_handler

handler = route_handler("default")
