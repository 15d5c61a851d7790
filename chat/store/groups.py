"""Group changes: creation, members added, members removed (the Conversations and Members tables).

How a group's item keeps its all-members watermarks is told in chat/store/conversations.py.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from chat.domain import Conversation, ReceiptKind
from chat.store import conversations, members
from chat.store.errors import StoreConflict
from chat.store.models import MemberModel
from chat.store.writes import Cancelled, transact

# DynamoDB transactions take at most 100 items: one for the conversation, the rest members.
MEMBERS_PER_TRANSACTION = 90


def _in_transactions(user_ids: Sequence[str]) -> list[list[str]]:
    return [list(user_ids[i : i + MEMBERS_PER_TRANSACTION]) for i in range(0, len(user_ids), MEMBERS_PER_TRANSACTION)]


def create_group(
    conversation_id: str, name: str, creator: str, member_ids: Sequence[str], now: str, logged_at: int
) -> None:
    """Members first, the conversation last: the group exists only once everything is stored. The rows
    are marked as logged at `logged_at` (chat/change_log.py)."""
    with MemberModel.batch_write() as batch:
        for user_id in member_ids:
            batch.save(members.joining(conversation_id, user_id, 0, now, marked_at=logged_at).row)
    conversations.new_group(conversation_id, name, creator, member_ids, now).run()


def add_members(
    conversation: Conversation,
    user_ids: Sequence[str],
    max_members: int,
    now: str,
    holding: Collection[ReceiptKind],
    logged_at: int,
) -> None:
    """Adds members who join at the current lastSeq (they see only what comes after), as holding the
    group minimums of the `holding` kinds; only while lastSeq and the minimums are as in `conversation`.
    Their rows are marked as logged at `logged_at` (chat/change_log.py)."""
    conversation_id, last_seq = conversation.conversation_id, conversation.last_seq
    for chunk in _in_transactions(user_ids):
        try:
            transact(
                [
                    conversations.members_joining(conversation, chunk, max_members, holding),
                    *(members.joining(conversation_id, u, last_seq, now, marked_at=logged_at) for u in chunk),
                ]
            )
        except Cancelled as exc:
            raise StoreConflict() from exc


def remove_members(conversation: Conversation, user_ids: Sequence[str], admins: Sequence[str], now: str) -> None:
    """Marks members as gone at the current lastSeq, now; they keep what they saw until then."""
    for chunk in _in_transactions(user_ids):
        try:
            transact(
                [
                    conversations.members_leaving(conversation, chunk, admins),
                    *(members.leaving(conversation, u, now) for u in chunk),
                ]
            )
        except Cancelled as exc:
            raise StoreConflict() from exc
