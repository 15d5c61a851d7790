"""$default: frames that match no route (not JSON, no action, unknown action) get their error."""

from chat.api import websocket_handler

handler = websocket_handler({})
