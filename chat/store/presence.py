"""Presence data: who watches whom, who may watch whom, and the short-lived typing counters.

PresenceSubscriptions holds one row per (watched user, watching connection), so the connections to
tell about one user's change are one Query. The watching connection's record carries the set it
watches (presenceWatch): a new subscribePresence replaces exactly that set, and when the connection
goes (its Connections stream REMOVE, whatever removed it) the old image says which rows to delete.
Rows expire with their connection (same expiresAt), so nothing outlives the socket for long even
if a cleanup is missed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chat.concurrency import ContextPool
from chat.domain import Connection
from chat.store.connections import _to_domain as connection_to_domain
from chat.store.models import ConnectionModel, LimitModel, MemberModel, PresenceSubscriptionModel

# Membership look-ups of up to 100 users run side by side.
_pool = ContextPool(max_workers=16, name="presence")


@dataclass(frozen=True)
class Subscription:
    """A connection watching a user's presence."""

    watched_user_id: str
    connection_id: str
    subscriber_user_id: str
    expires_at: int


# ---- the watched set of a connection ---------------------------------------------------------------


def watch_of(user_id: str, connection_id: str) -> tuple[Connection, frozenset[str]] | None:
    """The connection and the users it watches; None when the connection record is gone."""
    try:
        row = ConnectionModel.get(user_id, connection_id, consistent_read=True)
    except DoesNotExist:
        return None
    return connection_to_domain(row), frozenset(row.presence_watch or ())


def watch_from_image(image: dict[str, Any]) -> frozenset[str]:
    """The users a connection watched, from a Connections stream record's image."""
    return frozenset(ConnectionModel.from_raw_data(image).presence_watch or ())


def set_watch(conn: Connection, watched: frozenset[str]) -> bool:
    """Records the set on the connection; False (and nothing written) when the connection is gone."""
    action = ConnectionModel.presence_watch.set(set(watched)) if watched else ConnectionModel.presence_watch.remove()
    try:
        # Conditional: an UpdateItem on a vanished connection would otherwise resurrect a partial record.
        ConnectionModel(user_id=conn.user_id, connection_id=conn.connection_id).update(
            actions=[action], condition=ConnectionModel.connection_id.exists()
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


# ---- subscription rows ------------------------------------------------------------------------------


def put_subscriptions(subscriber: Connection, watched: Iterable[str]) -> None:
    """One row per watched user (idempotent), expiring with the subscriber's connection."""
    with PresenceSubscriptionModel.batch_write() as batch:
        for user_id in watched:
            batch.save(
                PresenceSubscriptionModel(
                    watched_user_id=user_id,
                    connection_id=subscriber.connection_id,
                    subscriber_user_id=subscriber.user_id,
                    expires_at=subscriber.expires_at,
                )
            )


def delete_subscriptions(connection_id: str, watched: Iterable[str]) -> None:
    with PresenceSubscriptionModel.batch_write() as batch:
        for user_id in watched:
            batch.delete(PresenceSubscriptionModel(watched_user_id=user_id, connection_id=connection_id))


def subscribers(watched_user_id: str) -> list[Subscription]:
    """The connections watching this user (one Query), without rows past their TTL."""
    now = int(time.time())
    rows = PresenceSubscriptionModel.query(watched_user_id, filter_condition=PresenceSubscriptionModel.expires_at > now)
    return [
        Subscription(
            watched_user_id=row.watched_user_id,
            connection_id=row.connection_id,
            subscriber_user_id=row.subscriber_user_id,
            expires_at=int(row.expires_at),
        )
        for row in rows
    ]


# ---- online ---------------------------------------------------------------------------------------


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


# ---- who may watch whom -----------------------------------------------------------------------------


def users_sharing_a_conversation(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` who are or were a member of a conversation `user_id` is or was a member of.

    One byUser Query for the user, then one per other user (side by side), each stopping at the
    first shared conversation. No Scan.
    """
    others = list(dict.fromkeys(others))
    if not others:
        return set()
    mine = {row.conversation_id for row in MemberModel.by_user.query(user_id)}  # type: ignore[attr-defined]
    if not mine:
        return set()

    def shares(other: str) -> bool:
        rows = MemberModel.by_user.query(other)  # type: ignore[attr-defined]
        return any(row.conversation_id in mine for row in rows)

    return {other for other, ok in zip(others, _pool.map(shares, others), strict=True) if ok}


# ---- counters ---------------------------------------------------------------------------------------


def take_slot(limit_key: str, limit: int, expires_at: int) -> bool:
    """Counts one use of a fixed-window limit; False (and nothing counted) once `limit` uses were taken.

    One atomic conditional UpdateItem: concurrent callers can never take more than `limit` slots.
    """
    try:
        LimitModel(limit_key=limit_key).update(
            actions=[LimitModel.uses.add(1), LimitModel.expires_at.set(expires_at)],
            condition=LimitModel.uses.does_not_exist() | (LimitModel.uses < limit),
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
