"""Users: created when their account is confirmed (sign-up); last seen when their last device leaves."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chat.store.models import UserModel

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
    try:
        UserModel(user_id=user_id, created_at=now, last_seen=NEVER_SEEN).save(
            condition=UserModel.user_id.does_not_exist()
        )
        return True
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def user_exists(user_id: str) -> bool:
    try:
        UserModel.get(user_id, attributes_to_get=["userId"])
        return True
    except DoesNotExist:
        return False


def existing_users(user_ids: list[str]) -> set[str]:
    return {row.user_id for row in UserModel.batch_get(user_ids, attributes_to_get=["userId"])}


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
    try:
        UserModel(user_id=user_id).update(
            actions=[UserModel.last_seen.remove()],
            condition=UserModel.user_id.exists() & UserModel.last_seen.exists(),
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def advance_last_seen(user_id: str, at: str) -> bool:
    """Marks the user offline since `at`; False when lastSeen was already `at` or later (or no such user).

    Never creates a user: users come from sign-up (or, for older accounts, their first connection).
    """
    try:
        UserModel(user_id=user_id).update(
            actions=[UserModel.last_seen.set(at)],
            condition=UserModel.user_id.exists() & (UserModel.last_seen.does_not_exist() | (UserModel.last_seen < at)),
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
