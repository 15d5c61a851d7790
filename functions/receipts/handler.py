"""delivered / read (watermarks, no direct reply) and receipts (message info)."""

from chat.api import websocket_handler
from chat.receipts import acknowledge, message_info

handler = websocket_handler({"delivered": acknowledge, "read": acknowledge, "receipts": message_info})
