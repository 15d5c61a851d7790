"""Connections as the domain sees them: a user's device comes and goes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat import liveness
from chat.clock import now_iso
from chat.domain import Caller, Connection
from chat.protocol_limits import MAX_CONNECTIONS_PER_USER
from chat.store import connections as connection_store
from chat.store.errors import ConnectionLimitReached

if TYPE_CHECKING:
    from chat.protocol import PingFrame, PongOut

# MAX_CONNECTIONS_PER_USER open sockets per user: each one is a POST for every message to the user, and
# all of them are listed on the user's item. 10 is more than a person uses at once (phone, tablet,
# laptops, browser tabs), and a client that reconnects in a loop without closing its sockets stops
# there. The next handshake is refused rather than the oldest socket closed: closing would let a
# runaway client (or a stolen token) knock the user's real devices off, over and over.


class TooManyConnections(Exception):
    """The user has MAX_CONNECTIONS_PER_USER live connections: this one is refused, nothing stored."""


def connect(caller: Caller, token_expires_at: int | None) -> Connection:
    """The connection counts from now for one lease, never past its token's expiry (chat/liveness.py)."""
    try:
        return connection_store.save_connection(
            caller.user_id,
            caller.connection_id,
            caller.device_id,
            now_iso(),
            live_until=liveness.first_lease(token_expires_at),
            token_expires_at=token_expires_at,
            at_most=MAX_CONNECTIONS_PER_USER,
        )
    except ConnectionLimitReached:
        raise TooManyConnections(f"at most {MAX_CONNECTIONS_PER_USER} connections per user") from None


def disconnect(caller: Caller) -> None:
    connection_store.delete_connection(caller.user_id, caller.connection_id)


def pong(caller: Caller, frame: PingFrame) -> PongOut:
    """ping keeps the connection from idling out (API Gateway closes it after 10 silent minutes) and
    renews its lease when that nears its end."""
    # Imported here: $connect and $disconnect use this module and never a frame model (the ping
    # function has chat/protocol.py loaded since its cold start, by chat/api.py).
    from chat.protocol import PongOut

    liveness.renew(caller)
    return PongOut()
