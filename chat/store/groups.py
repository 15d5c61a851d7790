"""Groups: creation, membership changes and the bookkeeping of the all-members watermarks.

The conversation item carries, per kind, the lowest watermark over its active members (allDelivered,
allRead) and the set of members sitting exactly at it (atMinDelivered, atMinRead). A member moving up
is removed from the set (an idempotent DELETE); only when the set empties is the new minimum computed
from the member rows. So an acknowledgement costs one small update, and the 500 rows are read once
per move of the group's minimum, not once per acknowledgement.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chat.domain import RECEIPT_KINDS, Conversation, GroupMinimum, ReceiptKind
from chat.store.conversations import conversation_to_domain
from chat.store.errors import StoreConflict
from chat.store.models import ConversationModel, MemberModel, connection

# DynamoDB transactions take at most 100 items: one for the conversation, the rest members.
MEMBERS_PER_TRANSACTION = 90


def _min_attrs(kind: ReceiptKind) -> tuple[Any, Any]:
    """The conversation attributes of one kind's group minimum: (level, members at it)."""
    if kind == "delivered":
        return ConversationModel.all_delivered, ConversationModel.at_min_delivered
    return ConversationModel.all_read, ConversationModel.at_min_read


def create_group(conversation_id: str, name: str, creator: str, member_ids: Sequence[str], now: str) -> Conversation:
    """Members first, the conversation last: the group exists only once everything is stored."""
    rows = [
        MemberModel(
            conversation_id=conversation_id,
            user_id=user_id,
            joined_seq=0,
            joined_at=now,
        )
        for user_id in member_ids
    ]
    with MemberModel.batch_write() as batch:
        for row in rows:
            batch.save(row)
    everyone = set(member_ids)
    conversation = ConversationModel(
        conversation_id=conversation_id,
        kind="group",
        name=name,
        created_at=now,
        created_by=creator,
        last_seq=0,
        admins=[creator],
        member_count=len(member_ids),
        all_delivered=0,
        all_read=0,
        at_min_delivered=everyone,
        at_min_read=everyone,
    )
    conversation.save(condition=ConversationModel.conversation_id.does_not_exist())
    return conversation_to_domain(conversation)


def add_members(
    conversation: Conversation, user_ids: Sequence[str], max_members: int, now: str, holding: Collection[ReceiptKind]
) -> None:
    """Adds members who join at the current lastSeq (they see only what comes after), as holding the
    group minimums of the `holding` kinds; only while lastSeq and the minimums are as in `conversation`."""
    joined = conversation.last_seq
    for start in range(0, len(user_ids), MEMBERS_PER_TRANSACTION):
        chunk = list(user_ids[start : start + MEMBERS_PER_TRANSACTION])
        actions: list[Action] = [ConversationModel.member_count.add(len(chunk))]
        condition = (ConversationModel.member_count <= max_members - len(chunk)) & (
            ConversationModel.last_seq == joined
        )
        for kind in RECEIPT_KINDS:
            level, at_min = _min_attrs(kind)
            condition &= level == conversation.minimum(kind).seq
            if kind in holding:
                actions.append(at_min.add(set(chunk)))
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(ConversationModel(conversation_id=conversation.conversation_id), actions, condition=condition)
                for user_id in chunk:
                    tx.save(
                        MemberModel(
                            conversation_id=conversation.conversation_id,
                            user_id=user_id,
                            joined_seq=joined,
                            joined_at=now,
                            delivered_seq=joined,
                            read_seq=joined,
                        )
                    )
        except TransactWriteError as exc:
            raise StoreConflict() from exc


def remove_members(conversation: Conversation, user_ids: Sequence[str], admins: Sequence[str]) -> None:
    """Marks members as gone at the current lastSeq; they keep what they saw until then."""
    for start in range(0, len(user_ids), MEMBERS_PER_TRANSACTION):
        chunk = list(user_ids[start : start + MEMBERS_PER_TRANSACTION])
        removal: list[Action] = [
            ConversationModel.member_count.add(-len(chunk)),
            ConversationModel.admins.set(list(admins)),
            ConversationModel.at_min_delivered.delete(set(chunk)),
            ConversationModel.at_min_read.delete(set(chunk)),
        ]
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(
                    ConversationModel(conversation_id=conversation.conversation_id),
                    removal,
                    condition=ConversationModel.last_seq == conversation.last_seq,
                )
                for user_id in chunk:
                    tx.update(
                        MemberModel(conversation_id=conversation.conversation_id, user_id=user_id),
                        actions=[MemberModel.left_seq.set(conversation.last_seq)],
                        condition=MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist(),
                    )
        except TransactWriteError as exc:
            raise StoreConflict() from exc


def release_from_minimum(conversation_id: str, user_id: str, kind: ReceiptKind) -> bool:
    """The member moved above the group minimum; True when nobody is left at the minimum."""
    _, at_min = _min_attrs(kind)
    row = ConversationModel(conversation_id=conversation_id)
    try:
        row.update(actions=[at_min.delete({user_id})], condition=ConversationModel.kind == "group")
    except UpdateError:
        return False
    # The update leaves the row with the item as stored; DynamoDB drops a set that became empty.
    return not (row.at_min_delivered if kind == "delivered" else row.at_min_read)


def set_minimum(conversation_id: str, kind: ReceiptKind, before: GroupMinimum, after: GroupMinimum) -> bool:
    """Stores a recomputed group minimum; False when it changed since `before` was read (recomputed
    concurrently, or someone is at it again)."""
    level, at_min = _min_attrs(kind)
    try:
        ConversationModel(conversation_id=conversation_id).update(
            actions=[level.set(after.seq), at_min.set(set(after.holding))],
            condition=(level == before.seq) & at_min.does_not_exist(),
        )
    except UpdateError:
        return False
    return True
