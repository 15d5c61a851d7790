"""The Connections table: which socket belongs to which user and device, until when.

Each record carries a lease (liveUntil, chat/liveness.py) and is listed by it in the byLease index,
spread over LEASE_SHARDS partitions (leaseShard, from the connection id), so the sweep finds every
connection whose lease lapsed with one Query per shard.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chat.domain import Connection
from chat.retry import retrying
from chat.store import users
from chat.store.errors import ConnectionLimitReached, StoreConflict
from chat.store.models import ConnectionModel
from chat.store.writes import Cancelled, Delete, Put, Update, Write, applied, transact

# API Gateway closes a connection after 2 hours; the record outlives it a little and is then dropped
# by TTL, so a lost $disconnect cannot keep a ghost connection forever (the lease ends it much sooner).
CONNECTION_TTL_S = 2 * 3600 + 10 * 60
# byLease partitions. A renewal moves the item in the index (2 index writes), and one partition key
# takes at most 1000 writes a second: with a renewal every ~10 minutes per connection, 128 shards
# carry about 38 million connections. Raising it is safe (the sweep queries every shard); lowering it
# would strand the items of the shards dropped until their TTL.
LEASE_SHARDS = 128
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
        live_until=None if row.live_until is None else int(row.live_until),
        token_expires_at=None if row.token_expires_at is None else int(row.token_expires_at),
    )


def lease_shard(connection_id: str) -> int:
    """The byLease partition a connection is listed in: fixed for its life, spread evenly."""
    return zlib.crc32(connection_id.encode("utf-8")) % LEASE_SHARDS


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
    user_id: str,
    connection_id: str,
    device_id: str,
    connected_at: str,
    live_until: int,
    token_expires_at: int | None = None,
    at_most: int | None = None,
) -> Connection:
    """Stores the connection and lists it on the user, in one transaction.

    With `at_most`, only while the user lists fewer connections (else ConnectionLimitReached, nothing
    stored): the condition is on the user's item, in the same transaction, so users connecting many
    devices at once never get past it. Listed connections can be dead, though: a socket whose
    $disconnect never came and that nobody posted to since stays listed while its record lives (and
    after its lease lapsed or TTL removed it). When the list is full, those are taken off it and the
    connection tried again.
    """
    row = ConnectionModel(
        user_id=user_id,
        connection_id=connection_id,
        device_id=device_id,
        connected_at=connected_at,
        expires_at=int(time.time()) + CONNECTION_TTL_S,
        live_until=live_until,
        lease_shard=lease_shard(connection_id),
        token_expires_at=token_expires_at,
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
    """Takes off the user the listed connections without a record that counts; whether there were any.

    The list is read first: a connection listed then had its record stored with it (one transaction),
    so if it counts the Query after finds it.
    """
    listed = users.listed_connections(user_id)
    live = {
        row.connection_id
        for row in ConnectionModel.query(
            user_id,
            filter_condition=_counting(int(time.time())),
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


def _counting(now: int) -> Any:
    """Records of connections that count at `now`: within their TTL (DynamoDB deletes expired items
    lazily) and their lease (the sweep removes lapsed ones within a minute or so)."""
    return (ConnectionModel.expires_at > now) & (
        ConnectionModel.live_until.does_not_exist() | (ConnectionModel.live_until > now)
    )


def live_connections(user_id: str) -> list[Connection]:
    """The user's connections that count now."""
    now = int(time.time())
    return [connection_to_domain(row) for row in ConnectionModel.query(user_id, filter_condition=_counting(now))]


def has_live_connection(user_id: str) -> bool:
    """Whether the user has a connection that counts now, by a strongly consistent Query.

    Consistent, because it runs right after the stream record of a write: an eventually consistent
    read could miss the connection just inserted, and that user would then never be pushed online.
    """
    now = int(time.time())
    rows = ConnectionModel.query(
        user_id, filter_condition=_counting(now), consistent_read=True, attributes_to_get=["userId"]
    )
    return next(iter(rows), None) is not None


# ---- leases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    live_until: int | None
    token_expires_at: int | None


def lease_of(user_id: str, connection_id: str) -> Lease | None:
    """The connection's lease as stored (an eventually consistent GetItem: 0.5 RCU); None if it is gone."""
    try:
        row = ConnectionModel.get(user_id, connection_id, attributes_to_get=["liveUntil", "tokenExpiresAt"])
    except DoesNotExist:
        return None
    return Lease(
        live_until=None if row.live_until is None else int(row.live_until),
        token_expires_at=None if row.token_expires_at is None else int(row.token_expires_at),
    )


def extend_lease(user_id: str, connection_id: str, live_until: int) -> bool:
    """Moves the lease's end to `live_until`, only forward and only while the record exists (an update
    of a removed connection would resurrect a partial record); False when nothing was written."""
    row = ConnectionModel(user_id=user_id, connection_id=connection_id)
    return applied(
        Update(
            row,
            [ConnectionModel.live_until.set(live_until), ConnectionModel.lease_shard.set(lease_shard(connection_id))],
            ConnectionModel.connection_id.exists()
            & (ConnectionModel.live_until.does_not_exist() | (ConnectionModel.live_until < live_until)),
        )
    )


def lapsed_in_shard(shard: int, now: int) -> Iterator[tuple[str, str]]:
    """(user id, connection id) of the connections of one byLease shard whose lease ended by `now`, as
    the index shows them (it lags its table a little: check a record before acting on it)."""
    for row in ConnectionModel.by_lease.query(shard, ConnectionModel.live_until <= now):
        yield row.user_id, row.connection_id


def lapsed_lease(user_id: str, connection_id: str, now: int) -> Connection | None:
    """The connection, if its record still exists and its lease ended by `now` (a strongly consistent
    GetItem: a ping may have renewed it since the index was read); else None."""
    try:
        row = ConnectionModel.get(user_id, connection_id, consistent_read=True)
    except DoesNotExist:
        return None
    conn = connection_to_domain(row)
    return conn if conn.live_until is not None and conn.live_until <= now else None


def remove_lapsed(user_id: str, connection_id: str, now: int) -> bool:
    """Removes the record and its entry on the user, only if its lease ended by `now`; False when the
    record is gone already or was renewed."""
    row = ConnectionModel(user_id=user_id, connection_id=connection_id)
    lapsed = Delete(row, ConnectionModel.live_until <= now, role="connection")
    try:
        _transact_despite_conflicts([lapsed, users.unlisting_connection(user_id, connection_id)])
    except Cancelled as exc:
        if "connection" in exc.failed:
            return False
        return applied(lapsed)  # no user item: the record still goes
    return True


def connection_from_image(image: dict[str, Any]) -> Connection:
    """A connection from a Connections stream record's image (DynamoDB JSON)."""
    return connection_to_domain(ConnectionModel.from_raw_data(image))
