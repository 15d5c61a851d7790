"""The Users table: created when their account is confirmed (sign-up); last seen when their last device
leaves; the ids of their open connections, where fan-out finds their sockets."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import size

from chat.domain import Endpoint
from chat.store.models import UserModel
from chat.store.writes import Check, Put, Update, applied

# lastSeen holds what presence subscribers were last told: absent = online, a time = offline since.
# A user who signed up and never connected is offline and never seen: stored as an empty lastSeen,
# which sorts before every timestamp (so their first connection reads as a change and is pushed)
# and is read back as null.
NEVER_SEEN = ""


def ensure_user(user_id: str, now: str) -> bool:
    """Creates the user, offline and never seen, unless they exist; returns True when created.

    Conditional on the item being absent, so a second call (a second confirmation, a retried
    trigger) writes nothing: createdAt, lastSeen and the listed connections stay as they are.
    """
    row = UserModel(user_id=user_id, created_at=now, last_seen=NEVER_SEEN)
    return applied(Put(row, UserModel.user_id.does_not_exist()))


def user_exists(user_id: str) -> bool:
    try:
        UserModel.get(user_id, attributes_to_get=["userId"])
        return True
    except DoesNotExist:
        return False


def blocked_by_user(user_id: str) -> frozenset[str] | None:
    """The users `user_id` blocked; None when there is no such user."""
    try:
        # Strongly consistent: a block a moment ago must hold (and a `synced` must not undo its push).
        row = UserModel.get(user_id, attributes_to_get=["userId", "blocked"], consistent_read=True)
    except DoesNotExist:
        return None
    return frozenset(row.blocked or ())


def block_lists(user_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The block list of each of these users (one BatchGetItem per 100 users); users that do not exist
    are left out."""
    rows = UserModel.batch_get(list(dict.fromkeys(user_ids)), attributes_to_get=["userId", "blocked"])
    return {row.user_id: frozenset(row.blocked or ()) for row in rows}


def not_blocking(user_id: str, other: str) -> Check:
    """In a transaction: holds while `user_id` has not blocked `other` (role "block")."""
    return Check(UserModel, user_id, None, ~UserModel.blocked.contains(other), role="block")


def set_blocked(user_id: str, other: str, blocked: bool, at_most: int) -> bool:
    """Adds `other` to (or removes it from) the user's block list; False when adding would exceed
    `at_most` users."""
    row = UserModel(user_id=user_id)
    if not blocked:
        return applied(Update(row, [UserModel.blocked.delete({other})], UserModel.user_id.exists()))
    room = UserModel.blocked.does_not_exist() | (size(UserModel.blocked) < at_most) | UserModel.blocked.contains(other)
    return applied(Update(row, [UserModel.blocked.add({other})], UserModel.user_id.exists() & room))


def existing_users(user_ids: list[str]) -> set[str]:
    return {row.user_id for row in UserModel.batch_get(user_ids, attributes_to_get=["userId"])}


# ---- last seen --------------------------------------------------------------------------------------


def last_seen(user_ids: list[str]) -> dict[str, str | None]:
    """When each user's last device left: None while online and for a user never seen."""
    return {row.user_id: row.last_seen or None for row in UserModel.batch_get(user_ids)}


def published_last_seen(user_id: str) -> str | None:
    """The lastSeen subscribers were last told: None while online (and for a user created by their first
    connection, as before sign-up created users), NEVER_SEEN for a user who has not connected yet."""
    try:
        return UserModel.get(user_id, consistent_read=True, attributes_to_get=["userId", "lastSeen"]).last_seen
    except DoesNotExist:
        return None


def clear_last_seen(user_id: str) -> bool:
    """Marks the user online (lastSeen null); False when they were online already."""
    return applied(
        Update(
            UserModel(user_id=user_id),
            [UserModel.last_seen.remove()],
            UserModel.user_id.exists() & UserModel.last_seen.exists(),
        )
    )


def advance_last_seen(user_id: str, at: str) -> bool:
    """Marks the user offline since `at`; False when lastSeen was already `at` or later (or no such user).

    Never creates a user: users come from sign-up (or, for older accounts, their first connection).
    """
    return applied(
        Update(
            UserModel(user_id=user_id),
            [UserModel.last_seen.set(at)],
            UserModel.user_id.exists() & (UserModel.last_seen.does_not_exist() | (UserModel.last_seen < at)),
        )
    )


# ---- the user's connections -------------------------------------------------------------------------


def endpoints_of(user_ids: Iterable[str]) -> list[Endpoint]:
    """Every listed connection of these users: one BatchGetItem per 100 users, no Query per user.

    The list may hold a connection whose record expired without $disconnect; posting to it answers
    410 Gone, which removes it.
    """
    rows = UserModel.batch_get(list(dict.fromkeys(user_ids)), attributes_to_get=["userId", "connectionIds"])
    return [Endpoint(row.user_id, connection_id) for row in rows for connection_id in sorted(row.connection_ids or ())]


def listing_connection(user_id: str, connection_id: str, connected_at: str, at_most: int | None = None) -> Update:
    """Lists the connection on the user, where fan-out looks; with `at_most`, only while fewer are listed.

    Users are created at sign-up; createdAt is set here only when the item is missing (an account
    confirmed before the sign-up trigger existed, or whose trigger failed): without the item this
    user's devices would connect but never be found by fan-out, receipts or presence.
    """
    room = None
    if at_most is not None:
        room = UserModel.connection_ids.does_not_exist() | (size(UserModel.connection_ids) < at_most)
    return Update(
        UserModel(user_id=user_id),
        [UserModel.created_at.set(UserModel.created_at | connected_at), UserModel.connection_ids.add({connection_id})],
        room,
        role="user",
    )


def listed_connections(user_id: str) -> set[str]:
    """The connection ids listed on the user (strongly consistent)."""
    try:
        row = UserModel.get(user_id, consistent_read=True, attributes_to_get=["userId", "connectionIds"])
    except DoesNotExist:
        return set()
    return set(row.connection_ids or ())


def unlist_connections(user_id: str, connection_ids: set[str]) -> None:
    """Takes these connections off the user (those still listed); never creates a user."""
    applied(
        Update(
            UserModel(user_id=user_id),
            [UserModel.connection_ids.delete(connection_ids)],
            UserModel.user_id.exists(),
        )
    )


def unlisting_connection(user_id: str, connection_id: str) -> Update:
    """Takes the connection off the user; only if the user exists (never creates one)."""
    return Update(
        UserModel(user_id=user_id),
        [UserModel.connection_ids.delete({connection_id})],
        UserModel.user_id.exists(),
        role="user",
    )
