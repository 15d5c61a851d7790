"""sync (missed messages, then `synced`) and history (older messages)."""

from chat.api import websocket_handler
from chat.sync import history, sync

handler = websocket_handler({"sync": sync, "history": history})
