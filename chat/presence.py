"""Presence: a user is online while one of their devices is connected; lastSeen is when the last left.

Two ways in:

- `subscribe` serves subscribePresence: who may watch whom, the watched set of a connection, and the
  current presence of each watched user.
- `connection_opened` / `connection_closed` serve the Connections stream: every INSERT and REMOVE,
  whatever caused it ($connect, $disconnect, the 410 cleanup of push, the sweep of ended leases
  (chat/liveness.py), TTL expiry).

Users.lastSeen is what subscribers were last told: absent (null) while online, the time the last
device left while offline, empty (`users.NEVER_SEEN`) for a user who signed up and never connected.
Each stream record derives the truth again from the user's live connections (records past their
lease or TTL never count) and pushes only when it differs from what was told. So a second device pushes nothing;
two devices connecting at once push `online` once (a test of "am I the only connection" would push
nothing: each sees the other); a reconnect whose old socket's REMOVE is processed after the new
socket's INSERT pushes nothing.

The push goes out before the state is written: a record retried after a throttled push pushes again
(a repeated presence frame is harmless, a lost one is not), and a crash between the two repeats the
push rather than losing it.
"""

from __future__ import annotations

from collections.abc import Iterable

from chat import clock
from chat.domain import Caller, Connection, Endpoint
from chat.errors import Forbidden, Internal, LimitExceeded
from chat.observability import metrics
from chat.protocol import PresenceOut, SubscribePresenceFrame
from chat.protocol_limits import MAX_PRESENCE_USERS
from chat.push import live_connections_of, push
from chat.store import connections, conversations, members, users
from chat.store import presence as store

# ---- rules (pure) -----------------------------------------------------------------------------------


def watch_list(user_ids: list[str]) -> list[str]:
    """The users a subscribePresence asks for, duplicates collapsed, first mention first.

    The limit is on the list as sent (the protocol's "at most 100"), checked before anything else.
    """
    if len(user_ids) > MAX_PRESENCE_USERS:
        raise LimitExceeded(f"subscribePresence takes at most {MAX_PRESENCE_USERS} userIds")
    return list(dict.fromkeys(user_ids))


def removal_time(conn: Connection, removed_at_s: float) -> str:
    """When a removed connection stopped counting: when its record was removed (the stream record's time,
    not when it was processed), or the end of its lease or TTL if that came first.

    A record the sweep removed stopped counting when its lease ended (it was not pinged, or its token
    expired); one deleted by TTL (possibly long after it expired) at its expiresAt.
    """
    return clock.iso(conn.stopped_counting(removed_at_s))


def presence_change(
    user_id: str, online: bool, told_last_seen: str | None, removed_at: str | None
) -> PresenceOut | None:
    """The frame to push, if what subscribers were told (`told_last_seen`, None = online) is now wrong.

    `removed_at` is set for a REMOVE: only a removal makes a user offline (an INSERT of a record
    that is already dead changes nothing; its REMOVE will come). A removal moves lastSeen forward
    even when subscribers were already told "offline" (a device came and went between two records).
    """
    if online:
        if told_last_seen is None:
            return None
        return PresenceOut(userId=user_id, online=True, lastSeen=None)
    if removed_at is None:
        return None
    if told_last_seen is not None and told_last_seen >= removed_at:
        return None
    return PresenceOut(userId=user_id, online=False, lastSeen=removed_at)


# ---- subscribePresence ------------------------------------------------------------------------------


def sharing_with(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` who may see `user_id`'s presence and whose presence `user_id` may see (the
    rule is symmetric): the user itself, and whoever is, with the user, a member now of some
    conversation. A conversation either of them left no longer counts.

    The byUser index lags its table: a direct chat begun a moment ago (direct chats are never left)
    is found on the table itself.
    """
    others = list(dict.fromkeys(others))
    strangers = [u for u in others if u != user_id]
    allowed = members.users_sharing_an_active_conversation(user_id, strangers)
    unknown = [u for u in strangers if u not in allowed]
    if unknown:
        allowed |= conversations.direct_partners(user_id, unknown)
    return allowed | ({user_id} if user_id in others else set())


def hidden_by_blocks(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` with whom `user_id` has a block, either way (chat/blocks.py): neither sees the
    other's presence, whatever conversations they share. One BatchGetItem per 100 users."""
    others = [u for u in dict.fromkeys(others) if u != user_id]
    if not others:
        return set()
    lists = users.block_lists([user_id, *others])
    own = lists.get(user_id, frozenset())
    return {u for u in others if u in own or user_id in lists.get(u, frozenset())}


def unknown_presence(user_id: str) -> PresenceOut:
    """What a blocked pair sees of each other: offline, never seen (as for a user who never connected)."""
    return PresenceOut(userId=user_id, online=False, lastSeen=None)


def subscribe(caller: Caller, frame: SubscribePresenceFrame) -> None:
    """Replaces this connection's watched set and posts one `presence` frame per user to it.

    The frames go through @connections (the route's direct reply is a single frame), so the direct
    reply is empty. Only users `sharing_with` the caller may be watched (oneself included); a user
    who may not (or does not exist: the two are not told apart) makes the whole frame `forbidden`
    and nothing is stored. An empty list stops every subscription of the connection. Whether the
    two still share a conversation is asked again at every change pushed (`tell_watchers`).

    A user with whom the caller has a block (either way) may be watched, but reads as offline and never
    seen until the block ends (`block_changed`): the subscription itself does not tell a block.
    """
    watched = watch_list(frame.userIds)
    allowed = sharing_with(caller.user_id, watched)
    strangers = [u for u in watched if u not in allowed]
    if strangers:
        raise Forbidden("you share no conversation with " + ", ".join(strangers[:5]))

    found = store.watch_of(caller.user_id, caller.connection_id)
    if found is None:
        raise Internal("this connection is not registered; please reconnect")
    conn, before = found
    after = frozenset(watched)
    # Widen the recorded set first: while rows change, the connection record names every row that may
    # exist, so its REMOVE (whenever it comes) cleans them all up.
    if not before >= after and not store.set_watch(conn, before | after):
        raise Internal("this connection is not registered; please reconnect")
    store.put_subscriptions(conn, after)  # all of them: a retried frame repairs an interrupted one
    dropped = before - after
    if dropped:
        store.delete_subscriptions(conn.connection_id, dropped)
        store.set_watch(conn, after)

    hidden = hidden_by_blocks(caller.user_id, watched)
    shown = current_presence([u for u in watched if u not in hidden])
    by_user = {f.userId: f for f in shown}
    frames = [by_user[u] if u in by_user else unknown_presence(u) for u in watched]
    result = push((conn, f.json_text().encode("utf-8")) for f in frames)
    if not result.ok:
        raise Internal("presence could not be delivered; please retry")


def current_presence(user_ids: list[str]) -> list[PresenceOut]:
    """Online: has a live connection now. Offline: lastSeen as stored (null if never seen leaving)."""
    online = {c.user_id for c in live_connections_of(user_ids)}
    offline = [u for u in user_ids if u not in online]
    seen = users.last_seen(offline) if offline else {}
    return [PresenceOut(userId=u, online=u in online, lastSeen=None if u in online else seen.get(u)) for u in user_ids]


# ---- the Connections stream -------------------------------------------------------------------------


def connection_opened(conn: Connection) -> PresenceOut | None:
    return _reconcile(conn.user_id, removed_at=None)


def connection_closed(conn: Connection, watched: Iterable[str], removed_at_s: float) -> PresenceOut | None:
    """A connection is gone (its record was removed at `removed_at_s`): its own subscriptions go with it,
    and its user may now be offline, last seen when the connection stopped counting."""
    watched = list(watched)
    if watched:
        store.delete_subscriptions(conn.connection_id, watched)
    return _reconcile(conn.user_id, removed_at=removal_time(conn, removed_at_s))


def _reconcile(user_id: str, removed_at: str | None) -> PresenceOut | None:
    online = connections.has_live_connection(user_id)
    frame = presence_change(user_id, online, users.published_last_seen(user_id), removed_at)
    if frame is None:
        return None
    tell_watchers(frame)
    if frame.online:
        users.clear_last_seen(user_id)
    else:
        assert frame.lastSeen is not None
        users.advance_last_seen(user_id, frame.lastSeen)
    return frame


def tell_watchers(frame: PresenceOut) -> None:
    """Pushes a presence change to every connection watching the user that may still see it; drops the
    rows of the others and of gone connections.

    A subscription outlives the conversation that allowed it (a member removed, or leaving): so the
    rule is asked again here, for the watching users, and a watcher who no longer shares an active
    conversation with the user is told nothing and its row is deleted (the set on its connection
    record keeps the name until its next subscribePresence or its end, which delete nothing more).
    A watcher with whom the user has a block is told nothing, but keeps its row: an unblock tells it
    again (`block_changed`).
    """
    subscriptions = store.subscribers(frame.userId)
    allowed = sharing_with(frame.userId, (s.subscriber_user_id for s in subscriptions))
    hidden = hidden_by_blocks(frame.userId, allowed)
    ended = [s.connection_id for s in subscriptions if s.subscriber_user_id not in allowed]
    if ended:
        store.drop_watchers(frame.userId, ended)
    data = frame.json_text().encode("utf-8")
    targets = [
        Endpoint(user_id=s.subscriber_user_id, connection_id=s.connection_id)
        for s in subscriptions
        if s.subscriber_user_id in allowed and s.subscriber_user_id not in hidden
    ]
    result = push((c, data) for c in targets)
    if result.gone:
        # Their other rows go when their Connections REMOVE (caused by push's cleanup) is processed.
        store.drop_watchers(frame.userId, [gone.connection_id for gone in result.gone])
    metrics.add_metric(name="PresencePosts", unit="Count", value=len(targets))
    result.raise_if_incomplete("presence push", userId=frame.userId)


# ---- blocks -----------------------------------------------------------------------------------------


def block_changed(blocker_id: str, other_id: str) -> None:
    """After a block or an unblock between two users, tells each one's connections watching the other
    what they may now see: a block shows the other offline and never seen (whatever they were told
    before); an unblock shows the other's current presence again, unless a block remains the other way
    or they no longer share a conversation."""
    hidden = bool(hidden_by_blocks(blocker_id, [other_id]))
    for watched, watcher in ((blocker_id, other_id), (other_id, blocker_id)):
        targets = [
            Endpoint(user_id=s.subscriber_user_id, connection_id=s.connection_id)
            for s in store.subscribers(watched)
            if s.subscriber_user_id == watcher
        ]
        if not targets:
            continue
        if hidden:
            frame = unknown_presence(watched)
        elif watcher in sharing_with(watched, [watcher]):
            frame = current_presence([watched])[0]
        else:
            continue
        data = frame.json_text().encode("utf-8")
        result = push((c, data) for c in targets)
        if result.gone:
            store.drop_watchers(watched, [gone.connection_id for gone in result.gone])
        result.raise_if_incomplete("presence after a block", userId=watched)
