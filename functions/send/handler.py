"""send -> sent, once the message is durably stored."""

from chat.api import websocket_handler
from chat.messages import send

handler = websocket_handler({"send": send})
