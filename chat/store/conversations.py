"""The Conversations table: conversation items, the user-pair lookup of direct chats, and a group's
all-members watermarks.

A group's item carries, per kind, the lowest watermark over its active members (allDelivered,
allRead) and the set of members sitting exactly at it (atMinDelivered, atMinRead). A member moving up
is removed from the set (an idempotent DELETE); only when the set empties is the new minimum computed
from the member rows. So an acknowledgement costs one small update, and the 500 rows are read once
per move of the group's minimum, not once per acknowledgement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chat.domain import RECEIPT_KINDS, Conversation, GroupMinimum, ReceiptKind
from chat.store.models import ConversationModel
from chat.store.writes import Put, Update, applied


def conversation_to_domain(row: ConversationModel) -> Conversation:
    return Conversation(
        conversation_id=row.conversation_id,
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        last_seq=int(row.last_seq or 0),
        admins=tuple(row.admins or ()),
        all_delivered=int(row.all_delivered or 0),
        all_read=int(row.all_read or 0),
        at_min_delivered=frozenset(row.at_min_delivered or ()),
        at_min_read=frozenset(row.at_min_read or ()),
        busy_until=int(row.busy_until or 0),
        last_change=int(row.last_change or 0),
    )


def get_conversation(conversation_id: str) -> Conversation | None:
    try:
        row = ConversationModel.get(conversation_id, consistent_read=True)
    except DoesNotExist:
        return None
    return None if row.kind == "pair" else conversation_to_domain(row)


def get_conversations(conversation_ids: Iterable[str]) -> dict[str, Conversation]:
    rows = ConversationModel.batch_get(list(conversation_ids))
    return {row.conversation_id: conversation_to_domain(row) for row in rows if row.kind != "pair"}


# ---- direct chats ------------------------------------------------------------------------------------


def pair_key(user_a: str, user_b: str) -> str:
    first, second = sorted((user_a, user_b))
    return f"pair#{first}#{second}"


def find_direct(user_a: str, user_b: str) -> str | None:
    try:
        return ConversationModel.get(pair_key(user_a, user_b), consistent_read=True).target
    except DoesNotExist:
        return None


def direct_partners(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` with whom the user has a direct conversation, read from the table itself
    (strongly consistent: one BatchGetItem per 100, where the byUser index may still lag)."""
    keys = {pair_key(user_id, other): other for other in dict.fromkeys(others) if other != user_id}
    if not keys:
        return set()
    return {keys[row.conversation_id] for row in ConversationModel.batch_get(list(keys), consistent_read=True)}


def new_direct(conversation_id: str, user_a: str, user_b: str, created_by: str, last_seq: int, now: str) -> list[Put]:
    """A direct conversation and the lookup from its pair of users; only if neither exists yet."""
    pair = ConversationModel(
        conversation_id=pair_key(user_a, user_b), kind="pair", created_at=now, target=conversation_id
    )
    conversation = ConversationModel(
        conversation_id=conversation_id,
        kind="direct",
        created_at=now,
        created_by=created_by,
        last_seq=last_seq,
        member_count=2,
    )
    new = ConversationModel.conversation_id.does_not_exist()
    return [Put(pair, new, role="pair"), Put(conversation, new, role="conversation")]


def next_seq(conversation_id: str, expected_last_seq: int, busy_until: int | None = None) -> Update:
    """Moves lastSeq from expected_last_seq to the next seq, only if it still is expected_last_seq
    (and with `busy_until`, marks the conversation busy until then)."""
    actions: list[Action] = [ConversationModel.last_seq.set(expected_last_seq + 1)]
    if busy_until is not None:
        actions.append(ConversationModel.busy_until.set(busy_until))
    return Update(
        ConversationModel(conversation_id=conversation_id),
        actions,
        ConversationModel.last_seq == expected_last_seq,
        role="conversation",
    )


def next_change(conversation_id: str, expected_last_change: int) -> Update:
    """Moves lastChange from expected_last_change to the next change number, only if it still is that."""
    last_change = ConversationModel.last_change
    unchanged = last_change == expected_last_change
    if expected_last_change == 0:
        unchanged = last_change.does_not_exist() | unchanged
    return Update(
        ConversationModel(conversation_id=conversation_id),
        [last_change.set(expected_last_change + 1)],
        ConversationModel.conversation_id.exists() & unchanged,
        role="conversation",
    )


# ---- groups ------------------------------------------------------------------------------------------


def _minimum_attributes(kind: ReceiptKind) -> tuple[Any, Any]:
    """The item's attributes of one kind's group minimum: (level, members at it)."""
    if kind == "delivered":
        return ConversationModel.all_delivered, ConversationModel.at_min_delivered
    return ConversationModel.all_read, ConversationModel.at_min_read


def new_group(conversation_id: str, name: str, creator: str, member_ids: Sequence[str], now: str) -> Put:
    """A group whose members all start at the minimum 0; only if the id is new."""
    everyone = set(member_ids)
    row = ConversationModel(
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
    return Put(row, ConversationModel.conversation_id.does_not_exist(), role="conversation")


def members_joining(
    conversation: Conversation, user_ids: Collection[str], max_members: int, holding: Collection[ReceiptKind]
) -> Update:
    """Counts newcomers in (up to max_members), as holding the minimums of the `holding` kinds; only
    while lastSeq and both minimums are still as in `conversation`."""
    actions: list[Action] = [ConversationModel.member_count.add(len(user_ids))]
    condition = (ConversationModel.member_count <= max_members - len(user_ids)) & (
        ConversationModel.last_seq == conversation.last_seq
    )
    for kind in RECEIPT_KINDS:
        level, at_min = _minimum_attributes(kind)
        condition &= level == conversation.minimum(kind).seq
        if kind in holding:
            actions.append(at_min.add(set(user_ids)))
    return Update(ConversationModel(conversation_id=conversation.conversation_id), actions, condition, "conversation")


def members_leaving(conversation: Conversation, user_ids: Collection[str], admins: Sequence[str]) -> Update:
    """Counts members out (they no longer hold any minimum) and sets the admins; only while lastSeq is
    as in `conversation`."""
    actions: list[Action] = [
        ConversationModel.member_count.add(-len(user_ids)),
        ConversationModel.admins.set(list(admins)),
        ConversationModel.at_min_delivered.delete(set(user_ids)),
        ConversationModel.at_min_read.delete(set(user_ids)),
    ]
    condition = ConversationModel.last_seq == conversation.last_seq
    return Update(ConversationModel(conversation_id=conversation.conversation_id), actions, condition, "conversation")


def release_from_minimum(conversation_id: str, user_id: str, kind: ReceiptKind) -> bool:
    """The member moved above the group minimum; True when nobody is left at the minimum."""
    _, at_min = _minimum_attributes(kind)
    row = ConversationModel(conversation_id=conversation_id)
    if not applied(Update(row, [at_min.delete({user_id})], ConversationModel.kind == "group")):
        return False
    # The row now holds the item as stored; DynamoDB drops a set that became empty.
    return not conversation_to_domain(row).minimum(kind).holding


def set_minimum(conversation_id: str, kind: ReceiptKind, before: GroupMinimum, after: GroupMinimum) -> bool:
    """Stores a recomputed group minimum; False when it changed since `before` was read (recomputed
    concurrently, or someone is at it again)."""
    level, at_min = _minimum_attributes(kind)
    return applied(
        Update(
            ConversationModel(conversation_id=conversation_id),
            [level.set(after.seq), at_min.set(set(after.holding))],
            (level == before.seq) & at_min.does_not_exist(),
        )
    )
