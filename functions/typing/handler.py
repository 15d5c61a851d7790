"""typing -> `typing` to the other members' connected devices (no direct reply)."""

from chat.api import websocket_handler
from chat.typing_indicators import typing

handler = websocket_handler({"typing": typing})
