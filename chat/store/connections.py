"""The Connections table: which socket belongs to which user and device, until when."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chat.domain import Connection
from chat.retry import retrying
from chat.store import users
from chat.store.errors import ConnectionLimitReached, StoreConflict
from chat.store.models import ConnectionModel
from chat.store.writes import Cancelled, Delete, Put, Write, transact

# API Gateway closes a connection after 2 hours; the record outlives it a little and is then dropped
# by TTL, so a lost $disconnect cannot keep a ghost connection forever.
CONNECTION_TTL_S = 2 * 3600 + 10 * 60
# The user's item is shared by all their devices: a transaction cancelled by another device connecting
# or leaving at the same moment (TransactionConflict) is tried again.
CONFLICT_ATTEMPTS = 8


def connection_to_domain(row: ConnectionModel) -> Connection:
    return Connection(
        user_id=row.user_id,
        connection_id=row.connection_id,
        device_id=row.device_id,
        connected_at=row.connected_at,
        expires_at=int(row.expires_at),
    )


def _transact_despite_conflicts(writes: list[Write]) -> None:
    """Runs the transaction, again while a concurrent one on the same items cancels it."""

    def attempt() -> None:
        try:
            transact(writes)
        except Cancelled as exc:
            if exc.conflicted:
                raise StoreConflict() from exc
            raise

    retrying(attempt, retry_on=StoreConflict, attempts=CONFLICT_ATTEMPTS)


def save_connection(
    user_id: str, connection_id: str, device_id: str, connected_at: str, at_most: int | None = None
) -> Connection:
    """Stores the connection and lists it on the user, in one transaction.

    With `at_most`, only while the user lists fewer connections (else ConnectionLimitReached, nothing
    stored): the condition is on the user's item, in the same transaction, so users connecting many
    devices at once never get past it. Listed connections can be dead, though: a socket whose
    $disconnect never came and that nobody posted to since stays listed while its record lives (and
    after TTL removed it). When the list is full, those are taken off it and the connection tried again.
    """
    row = ConnectionModel(
        user_id=user_id,
        connection_id=connection_id,
        device_id=device_id,
        connected_at=connected_at,
        expires_at=int(time.time()) + CONNECTION_TTL_S,
    )

    def save() -> None:
        _transact_despite_conflicts([Put(row), users.listing_connection(user_id, connection_id, connected_at, at_most)])

    try:
        save()
    except Cancelled as exc:
        if at_most is None or "user" not in exc.failed:
            raise
        if not _unlist_dead_connections(user_id):
            raise ConnectionLimitReached(f"{user_id} has {at_most} live connections") from None
        try:
            save()
        except Cancelled as again:
            if "user" in again.failed:
                raise ConnectionLimitReached(f"{user_id} has {at_most} live connections") from None
            raise
    return connection_to_domain(row)


def _unlist_dead_connections(user_id: str) -> bool:
    """Takes off the user the listed connections without a live record; whether there were any.

    The list is read first: a connection listed then had its record stored with it (one transaction),
    so if it is live the Query after finds it.
    """
    listed = users.listed_connections(user_id)
    now = int(time.time())
    live = {
        row.connection_id
        for row in ConnectionModel.query(
            user_id,
            filter_condition=ConnectionModel.expires_at > now,
            consistent_read=True,
            attributes_to_get=["userId", "connectionId"],
        )
    }
    dead = listed - live
    if dead:
        users.unlist_connections(user_id, dead)
    return bool(dead)


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
    unlist = users.unlisting_connection(user_id, connection_id)
    try:
        _transact_despite_conflicts([Delete(row), unlist] if row is not None else [unlist])
    except Cancelled:
        if row is not None:
            row.delete()  # no user item: the record still goes
    return connection_to_domain(row) if row is not None else None


def live_connections(user_id: str) -> list[Connection]:
    """The user's connections, without those past their TTL (DynamoDB deletes expired items lazily)."""
    now = int(time.time())
    return [
        connection_to_domain(row)
        for row in ConnectionModel.query(user_id, filter_condition=ConnectionModel.expires_at > now)
    ]


def has_live_connection(user_id: str) -> bool:
    """Whether the user has a connection not past its TTL, by a strongly consistent Query.

    Consistent, because it runs right after the stream record of a write: an eventually consistent
    read could miss the connection just inserted, and that user would then never be pushed online.
    """
    now = int(time.time())
    rows = ConnectionModel.query(
        user_id, filter_condition=ConnectionModel.expires_at > now, consistent_read=True, attributes_to_get=["userId"]
    )
    return next(iter(rows), None) is not None


def connection_from_image(image: dict[str, Any]) -> Connection:
    """A connection from a Connections stream record's image (DynamoDB JSON)."""
    return connection_to_domain(ConnectionModel.from_raw_data(image))
