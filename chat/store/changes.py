"""The Changes table: per user, a log of "this conversation changed for you at t" (chat/change_log.py).

An entry's sort key is its time (epoch ms, zero-padded) then the conversation id, so the entries from a
time on are one key range of the user's partition: one Query, strongly consistent, whatever the number
of conversations the user is in.
"""

from __future__ import annotations

from chat.store.models import ChangeModel
from chat.store.writes import Put

KEY_DIGITS = 13  # epoch ms until the year 2286


def change_key(at_ms: int, conversation_id: str) -> str:
    return f"{at_ms:0{KEY_DIGITS}d}#{conversation_id}"


def logging(user_id: str, conversation_id: str, at_ms: int, expires_at_s: int) -> Put:
    row = ChangeModel(
        user_id=user_id,
        change_key=change_key(at_ms, conversation_id),
        conversation_id=conversation_id,
        expires_at=expires_at_s,
    )
    return Put(row)


def logged_since(user_id: str, since_ms: int) -> dict[str, int]:
    """Each conversation logged for the user at `since_ms` or later, with the latest time it was logged."""
    rows = ChangeModel.query(
        user_id,
        range_key_condition=ChangeModel.change_key >= change_key(max(0, since_ms), ""),
        consistent_read=True,
    )
    latest: dict[str, int] = {}
    for row in rows:  # in key order: oldest first
        latest[row.conversation_id] = int(row.change_key.split("#", 1)[0])
    return latest
