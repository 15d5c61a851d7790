"""Connections: which socket belongs to which user and device."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chat.domain import Connection, Endpoint
from chat.retry import retrying
from chat.store.errors import StoreConflict
from chat.store.models import ConnectionModel, UserModel, connection

# API Gateway closes a connection after 2 hours; the record outlives it a little and is then dropped
# by TTL, so a lost $disconnect cannot keep a ghost connection forever.
CONNECTION_TTL_S = 2 * 3600 + 10 * 60
# A transaction cancelled by a concurrent one on the same item (TransactionConflict) is tried again.
CONFLICT_ATTEMPTS = 8


def _conflicted(exc: TransactWriteError) -> bool:
    return any(reason and reason.code == "TransactionConflict" for reason in exc.cancellation_reasons or [])


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
    user = UserModel(user_id=user_id)

    def store() -> None:
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.save(row)
                # Lists the connection on the user item, where fan-out looks. Users are created at
                # sign-up; createdAt is set here only when the item is missing (an account confirmed
                # before the sign-up trigger existed, or whose trigger failed): without the item this
                # user's devices would connect but never be found by fan-out, receipts or presence.
                tx.update(
                    user,
                    actions=[
                        UserModel.created_at.set(UserModel.created_at | connected_at),
                        UserModel.connection_ids.add({connection_id}),
                    ],
                )
        except TransactWriteError as exc:
            if _conflicted(exc):  # e.g. the user's other device connecting at the same moment
                raise StoreConflict() from exc
            raise

    retrying(store, retry_on=StoreConflict, attempts=CONFLICT_ATTEMPTS)
    return _to_domain(row)


def delete_connection(user_id: str, connection_id: str, connected_before: str | None = None) -> Connection | None:
    """Removes the record and its entry on the user; returns what was removed (None if gone already).

    With `connected_before`, a record stored at or after that time is kept (and None returned).
    """
    try:
        row: ConnectionModel | None = ConnectionModel.get(user_id, connection_id, consistent_read=True)
    except DoesNotExist:
        row = None
    if row is not None and connected_before is not None and row.connected_at >= connected_before:
        return None

    def remove() -> None:
        try:
            with TransactWrite(connection=connection()) as tx:
                if row is not None:
                    tx.delete(row)
                tx.update(
                    UserModel(user_id=user_id),
                    actions=[UserModel.connection_ids.delete({connection_id})],
                    condition=UserModel.user_id.exists(),
                )
        except TransactWriteError as exc:
            if _conflicted(exc):
                raise StoreConflict() from exc
            if row is not None:
                row.delete()  # no user item: the record still goes

    retrying(remove, retry_on=StoreConflict, attempts=CONFLICT_ATTEMPTS)
    return _to_domain(row) if row is not None else None


def endpoints_of(user_ids: Iterable[str]) -> list[Endpoint]:
    """Every listed connection of these users: one BatchGetItem per 100 users, no Query per user.

    The list may hold a connection whose record expired without $disconnect; posting to it answers
    410 Gone, which removes it.
    """
    rows = UserModel.batch_get(list(dict.fromkeys(user_ids)), attributes_to_get=["userId", "connectionIds"])
    return [Endpoint(row.user_id, connection_id) for row in rows for connection_id in sorted(row.connection_ids or ())]


def live_connections(user_id: str) -> list[Connection]:
    """The user's connections, without those past their TTL (DynamoDB deletes expired items lazily)."""
    now = int(time.time())
    return [
        _to_domain(row) for row in ConnectionModel.query(user_id, filter_condition=ConnectionModel.expires_at > now)
    ]


def connection_from_image(image: dict[str, Any]) -> Connection:
    """A connection from a Connections stream record's image (DynamoDB JSON)."""
    return _to_domain(ConnectionModel.from_raw_data(image))
