"""Connections as the domain sees them: a user's device comes and goes."""

from __future__ import annotations

from chat.clock import now_iso
from chat.domain import Caller, Connection
from chat.protocol import PingFrame, PongOut
from chat.store import connections as connection_store


def connect(caller: Caller) -> Connection:
    return connection_store.save_connection(caller.user_id, caller.connection_id, caller.device_id, now_iso())


def disconnect(caller: Caller) -> None:
    connection_store.delete_connection(caller.user_id, caller.connection_id)


def pong(caller: Caller, frame: PingFrame) -> PongOut:
    """ping keeps the connection from idling out (API Gateway closes it after 10 silent minutes)."""
    return PongOut()
