"""Connections as the domain sees them: a user's device comes and goes."""

from __future__ import annotations

from chat import liveness
from chat.clock import now_iso
from chat.domain import Caller, Connection
from chat.protocol import PingFrame, PongOut
from chat.store import connections as connection_store


def connect(caller: Caller, token_expires_at: int | None) -> Connection:
    """The connection counts from now for one lease, never past its token's expiry (chat/liveness.py)."""
    return connection_store.save_connection(
        caller.user_id,
        caller.connection_id,
        caller.device_id,
        now_iso(),
        live_until=liveness.first_lease(token_expires_at),
        token_expires_at=token_expires_at,
    )


def disconnect(caller: Caller) -> None:
    connection_store.delete_connection(caller.user_id, caller.connection_id)


def pong(caller: Caller, frame: PingFrame) -> PongOut:
    """ping keeps the connection from idling out (API Gateway closes it after 10 silent minutes) and
    renews its lease when that nears its end."""
    liveness.renew(caller)
    return PongOut()
