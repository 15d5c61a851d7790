"""subscribePresence -> one `presence` frame per user (posted to the socket), then every change."""

from chat import presence
from chat.api import websocket_handler

handler = websocket_handler({"subscribePresence": presence.subscribe})
