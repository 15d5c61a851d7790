"""Connections: which socket belongs to which user and device."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chat.domain import Connection
from chat.store.models import ConnectionModel

# API Gateway closes a connection after 2 hours; the record outlives it a little and is then dropped
# by TTL, so a lost $disconnect cannot keep a ghost connection forever.
CONNECTION_TTL_S = 2 * 3600 + 10 * 60


def _to_domain(row: ConnectionModel) -> Connection:
    return Connection(
        user_id=row.user_id,
        connection_id=row.connection_id,
        device_id=row.device_id,
        connected_at=row.connected_at,
        expires_at=int(row.expires_at),
    )


def save_connection(user_id: str, connection_id: str, device_id: str, connected_at: str) -> Connection:
    row = ConnectionModel(
        user_id=user_id,
        connection_id=connection_id,
        device_id=device_id,
        connected_at=connected_at,
        expires_at=int(time.time()) + CONNECTION_TTL_S,
    )
    row.save()
    return _to_domain(row)


def delete_connection(user_id: str, connection_id: str) -> Connection | None:
    """Removes the record; returns what was removed (None if it was gone already)."""
    try:
        row = ConnectionModel.get(user_id, connection_id)
    except DoesNotExist:
        return None
    row.delete()
    return _to_domain(row)


def live_connections(user_id: str) -> list[Connection]:
    """The user's connections, without those past their TTL (DynamoDB deletes expired items lazily)."""
    now = int(time.time())
    return [
        _to_domain(row) for row in ConnectionModel.query(user_id, filter_condition=ConnectionModel.expires_at > now)
    ]


def get_connection(user_id: str, connection_id: str) -> Connection | None:
    try:
        return _to_domain(ConnectionModel.get(user_id, connection_id))
    except DoesNotExist:
        return None


def connection_from_image(image: dict[str, Any]) -> Connection:
    """A connection from a Connections stream record's image (DynamoDB JSON)."""
    return _to_domain(ConnectionModel.from_raw_data(image))
