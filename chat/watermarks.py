"""The rules of the check marks, in one place and pure: no AWS, no store.

Every member has two watermarks per conversation, `delivered` and `read` (docs/PROTOCOL.md, Receipts):
"every message up to N reached one of my devices" and "I have seen every message up to N". They only
move forward. A group also has an all-members watermark per kind (user id "*"): the lowest over its
active members. The domain modules (receipts, messages, groups, sync) ask these rules what to do; the
store writes what they decide, conditionally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chat.domain import (
    ALL_MEMBERS,
    RECEIPT_KINDS,
    Conversation,
    ConversationKind,
    GroupMinimum,
    Member,
    Message,
    Receipt,
    ReceiptKind,
    Watermark,
    WatermarkMove,
    active,
)

# ---- one user's watermarks --------------------------------------------------------------------------


def implied_kinds(kind: ReceiptKind) -> tuple[ReceiptKind, ...]:
    """The watermarks a move of `kind` raises: read implies delivered."""
    return RECEIPT_KINDS if kind == "read" else ("delivered",)


def acknowledgement(
    member: Member, kind: ReceiptKind, seq: int, at: str, origin_connection_id: str
) -> WatermarkMove | None:
    """A `delivered` / `read` up to seq: None when that watermark is there already (nothing moves, nothing
    is pushed); otherwise one receipt of `kind`, raising every implied watermark still below seq."""
    if seq <= member.watermark(kind).seq:
        return None
    raises = tuple(k for k in implied_kinds(kind) if member.watermark(k).seq < seq)
    return WatermarkMove(Receipt(member.conversation_id, member.user_id, kind, seq, at), raises, origin_connection_id)


def sending(message: Message) -> WatermarkMove:
    """Sending counts as the sender's read of its own message (and so its delivery)."""
    receipt = Receipt(message.conversation_id, message.sender_id, "read", message.seq, message.sent_at)
    return WatermarkMove(receipt, implied_kinds("read"), message.sender_connection_id)


def delivered_at(first_delivered: str | None, first_read: str | None) -> str | None:
    """When a message reached a member: a device that went straight to `read` delivered it then."""
    return min((t for t in (first_delivered, first_read) if t), default=None)


# ---- a group's all-members watermark ------------------------------------------------------------------


def group_minimum(members: Iterable[Member], kind: ReceiptKind) -> GroupMinimum | None:
    """The lowest `kind` watermark over the active members and who sits at it; None without members."""
    marks = {m.user_id: m.watermark(kind).seq for m in active(members)}
    if not marks:
        return None
    lowest = min(marks.values())
    return GroupMinimum(lowest, frozenset(user for user, seq in marks.items() if seq == lowest))


def all_members_move(
    conversation_id: str, kind: ReceiptKind, before: GroupMinimum, after: GroupMinimum, at: str
) -> WatermarkMove | None:
    """The `"*"` receipt due when the minimum moved up; None when it did not (a departure, say, that
    leaves it where it was)."""
    if after.seq <= before.seq:
        return None
    return WatermarkMove(Receipt(conversation_id, ALL_MEMBERS, kind, after.seq, at))


def minimums_at_last_seq(conversation: Conversation) -> tuple[ReceiptKind, ...]:
    """The kinds whose all-members watermark is at the conversation's last seq.

    A newcomer's watermarks start where it joined (lastSeq), so it holds exactly these back.
    """
    return tuple(k for k in RECEIPT_KINDS if conversation.minimum(k).seq == conversation.last_seq)


# ---- who hears of a move ------------------------------------------------------------------------------


def is_group_members_own_move(conversation_kind: ConversationKind, user_id: str) -> bool:
    """A group member's own move: the group sees only "*" (so only the member's other devices hear of
    it), and it may release the group's minimum."""
    return conversation_kind == "group" and user_id != ALL_MEMBERS


def hears(conversation_kind: ConversationKind, mover_id: str, listener_id: str) -> bool:
    """Whether a member is told of a user's watermark (live, or in `synced`): its own always; in a
    direct chat the other user's too; in a group only "*"."""
    return listener_id == mover_id or not is_group_members_own_move(conversation_kind, mover_id)


def receipt_audience(
    conversation_kind: ConversationKind, mover_id: str, active_member_ids: Callable[[], Iterable[str]]
) -> list[str]:
    """The users whose devices are pushed a move (the device that caused it excepted).

    Direct chat: both members. A group member's own move: that member only, so no member rows are
    read (`active_member_ids` is not called). "*": every active member.
    """
    if is_group_members_own_move(conversation_kind, mover_id):
        return [mover_id]
    return [user for user in active_member_ids() if hears(conversation_kind, mover_id, user)]


def all_members_told(conversation: Conversation, listener: Member) -> list[Watermark]:
    """A group's "*" watermarks as `synced` tells them (its time is no one move's, so none): as they are to
    a member; to a former member as they were when it left, so nothing that happened since reaches it
    (none for a membership that ended before that was recorded)."""
    if listener.active:
        return [Watermark(ALL_MEMBERS, k, conversation.minimum(k).seq, None) for k in RECEIPT_KINDS]
    return [
        Watermark(ALL_MEMBERS, k, seq, None)
        for k in RECEIPT_KINDS
        if (seq := listener.all_members_at_leave(k)) is not None
    ]


def watermarks_told(conversation: Conversation, members: Iterable[Member], listener: Member) -> list[Watermark]:
    """The watermarks `synced` tells a member (or former member) of: for a group "*" and its own; for a
    direct chat both users'. A former member's own watermarks stopped moving when it left."""
    told = []
    if conversation.kind == "group":
        told += all_members_told(conversation, listener)
    for member in members:
        if hears(conversation.kind, member.user_id, listener.user_id):
            told += [member.watermark(k) for k in RECEIPT_KINDS]
    return told
