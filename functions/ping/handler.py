"""ping -> pong (keeps the connection from idling out)."""

from chat.api import websocket_handler
from chat.protocol import PongOut

handler = websocket_handler({"ping": lambda caller, frame: PongOut()})
