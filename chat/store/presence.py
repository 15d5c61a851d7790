"""Presence subscriptions: who watches whom (the PresenceSubscriptions table), and the set a connection
watches (presenceWatch, on its Connections item).

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
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chat.domain import Connection, Subscription
from chat.store.connections import connection_to_domain
from chat.store.models import ConnectionModel, PresenceSubscriptionModel
from chat.store.writes import Update, applied

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
    row = ConnectionModel(user_id=conn.user_id, connection_id=conn.connection_id)
    # Conditional: an UpdateItem on a vanished connection would otherwise resurrect a partial record.
    return applied(Update(row, [action], ConnectionModel.connection_id.exists()))


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


def drop_watchers(watched_user_id: str, connection_ids: Iterable[str]) -> None:
    """Deletes the rows of these connections watching one user."""
    with PresenceSubscriptionModel.batch_write() as batch:
        for connection_id in connection_ids:
            batch.delete(PresenceSubscriptionModel(watched_user_id=watched_user_id, connection_id=connection_id))


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
