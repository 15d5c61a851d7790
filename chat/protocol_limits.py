"""The protocol's limits that code outside the frame models enforces (docs/PROTOCOL.md): frame size,
group size, presence watch list, open connections. They live apart from chat/protocol.py so that the
action registry, the settings and the $connect function can read them without importing pydantic.
"""

MAX_FRAME_BYTES = 32 * 1024
MAX_GROUP_MEMBERS = 500
MAX_PRESENCE_USERS = 100
# Open connections per user; the handshake of one more is refused (chat/sessions.py).
MAX_CONNECTIONS_PER_USER = 10
