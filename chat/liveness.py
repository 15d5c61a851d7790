"""Liveness: a connection counts only while its lease holds, so a socket that vanished without
`$disconnect` stops keeping its user online within minutes, not when its record's TTL (2 h 10 min,
deleted lazily) runs out.

- `$connect` gives the connection a lease of CONNECTION_LEASE_S (12 minutes), never past the expiry
  of the token it connected with.
- `ping` (clients send one at least every 5 minutes) renews it, but only once less than 7/12 of it
  is left (7 minutes): one read per ping and one write per two pings. A client pinging every
  5 minutes never has less than 2 minutes of its lease left when it pings.
- `sweep`, every minute, finds the connections whose lease ended (the byLease index, one Query per
  shard), closes their sockets (DELETE @connections: 410 if already gone) and removes their
  records. The REMOVE goes down the Connections stream like any other: presence_push pushes
  `offline`, lastSeen being the end of the lease (when the connection stopped counting).

So a vanished socket shows its user offline at most lease + sweep period + stream delay after its
last ping (12 + 1 minutes and seconds: docs/PROTOCOL.md promises 14), and a socket is closed within
a minute of its token's expiry. Between the end of a lease and the sweep, the connection already does not count
(chat/store/connections.py `_counting`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from chat import clock, config, push
from chat.concurrency import ContextPool
from chat.domain import Caller, Connection
from chat.observability import logger, metrics
from chat.store import connections as connection_store

# A ping renews the lease once less than this share of it is left.
RENEW_BELOW = 7 / 12
# The sweep starts no new connection with less than this left before its deadline.
SWEEP_MARGIN_S = 5.0

_pool = ContextPool(max_workers=16, name="sweep")


# ---- rules (pure) -----------------------------------------------------------------------------------


def lease_end(now_s: int, lease_s: int, token_expires_at: int | None) -> int:
    """A lease begun or renewed now: LEASE later, never past the token's expiry."""
    end = now_s + lease_s
    return end if token_expires_at is None else min(end, token_expires_at)


def renewal(now_s: int, live_until: int | None, token_expires_at: int | None, lease_s: int) -> int | None:
    """The lease end a ping at `now_s` writes, or None: nothing to write (plenty of the lease left, or a
    token that expired, whose connection the sweep closes)."""
    if token_expires_at is not None and token_expires_at <= now_s:
        return None
    if live_until is not None and live_until - now_s >= lease_s * RENEW_BELOW:
        return None
    end = lease_end(now_s, lease_s, token_expires_at)
    return end if live_until is None or end > live_until else None


# ---- $connect and ping --------------------------------------------------------------------------------


def first_lease(token_expires_at: int | None) -> int:
    return lease_end(clock.epoch_s(), config.connection_lease_s(), token_expires_at)


def renew(caller: Caller) -> None:
    """A ping: renews the connection's lease if it nears its end (an eventually consistent read each
    time, a write about every other ping)."""
    lease = connection_store.lease_of(caller.user_id, caller.connection_id)
    if lease is None:
        return  # removed (swept, or $disconnect on its way): nothing to renew
    end = renewal(clock.epoch_s(), lease.live_until, lease.token_expires_at, config.connection_lease_s())
    if end is not None:
        connection_store.extend_lease(caller.user_id, caller.connection_id, end)


# ---- the sweep --------------------------------------------------------------------------------------


def sweep(deadline: float) -> int:
    """Closes and removes every connection whose lease ended; returns how many it closed. Stops starting
    new ones near `deadline` (time.monotonic()): what is left is the next run's."""
    now = clock.epoch_s()
    swept = 0
    for done in _pool.map(lambda key: _close_if_lapsed(*key, now, deadline), _lapsed(now)):
        swept += done
    metrics.add_metric(name="ConnectionsSwept", unit="Count", value=swept)
    if swept:
        logger.info("swept lapsed connections", extra={"count": swept})
    return swept


def _lapsed(now: int) -> Iterator[tuple[str, str]]:
    """Every shard's lapsed connections (the shards queried side by side)."""
    shards = range(connection_store.LEASE_SHARDS)
    for found in _pool.map(lambda shard: list(connection_store.lapsed_in_shard(shard, now)), shards):
        yield from found


def _close_if_lapsed(user_id: str, connection_id: str, now: int, deadline: float) -> bool:
    """Closes the socket, then removes the record, of a connection whose lease ended (checked on the
    table, not on the lagging index); True once it is closed. A close that fails leaves the record for
    the next run, so no socket is left open without one. (The close also runs $disconnect, which may
    remove the record first: either removal will do.)"""
    if time.monotonic() > deadline - SWEEP_MARGIN_S:
        return False
    conn: Connection | None = connection_store.lapsed_lease(user_id, connection_id, now)
    if conn is None:
        return False  # renewed, or gone
    if push.close_connection(conn) == "failed":
        return False
    connection_store.remove_lapsed(user_id, connection_id, now)
    return True
