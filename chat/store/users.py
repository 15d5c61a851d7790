"""Users: known from their first connection; last seen when their last device leaves."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chat.store.models import UserModel


def ensure_user(user_id: str, now: str) -> bool:
    """Creates the user on first connect; returns True when created."""
    try:
        UserModel(user_id=user_id, created_at=now).save(condition=UserModel.user_id.does_not_exist())
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
    return {row.user_id: row.last_seen for row in UserModel.batch_get(user_ids)}


def published_last_seen(user_id: str) -> str | None:
    """The lastSeen subscribers were last told: None while online (or for a user never seen leaving)."""
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

    Never creates a user: users come from their first connection only.
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
