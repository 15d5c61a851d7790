"""The Members table: who is (or was) in a conversation, since and until which seq, and their watermarks."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chat.concurrency import ContextPool
from chat.domain import Conversation, Member, ReceiptKind, WatermarkMove, active
from chat.store.models import MemberModel
from chat.store.writes import Check, Put, Update, applied

# Membership look-ups of up to 100 users run side by side.
_pool = ContextPool(max_workers=16, name="members")


def member_to_domain(row: MemberModel) -> Member:
    return Member(
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        joined_seq=int(row.joined_seq or 0),
        left_seq=None if row.left_seq is None else int(row.left_seq),
        delivered_seq=int(row.delivered_seq or 0),
        read_seq=int(row.read_seq or 0),
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        left_at=row.left_at,
        all_delivered_at_leave=None if row.all_delivered_at_leave is None else int(row.all_delivered_at_leave),
        all_read_at_leave=None if row.all_read_at_leave is None else int(row.all_read_at_leave),
        marked=row.marked_at is not None,
        muted_until=row.muted_until,
        blocked_by=frozenset(row.blocked_by or ()),
    )


def get_member(conversation_id: str, user_id: str) -> Member | None:
    try:
        return member_to_domain(MemberModel.get(conversation_id, user_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_members(conversation_id: str, consistent: bool = False) -> list[Member]:
    """Every member, former ones included."""
    return [member_to_domain(row) for row in MemberModel.query(conversation_id, consistent_read=consistent)]


def active_members(conversation_id: str, consistent: bool = False) -> list[Member]:
    return active(list_members(conversation_id, consistent=consistent))


def memberships_of(user_id: str) -> list[Member]:
    """Every conversation the user is or was a member of (by the byUser index)."""
    return [member_to_domain(row) for row in MemberModel.by_user.query(user_id)]


def users_sharing_an_active_conversation(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` who are, with `user_id`, both members now of some conversation (a conversation
    either of them left does not count).

    One byUser Query for the user, then one per other user (side by side), each stopping at the
    first shared conversation. No Scan. The index lags its table a little: a membership that just
    began or ended may not show yet.
    """
    others = list(dict.fromkeys(others))
    if not others:
        return set()
    rows = MemberModel.by_user.query(user_id)  # type: ignore[attr-defined]
    mine = {row.conversation_id for row in rows if row.left_seq is None}
    if not mine:
        return set()

    def shares(other: str) -> bool:
        rows = MemberModel.by_user.query(other)  # type: ignore[attr-defined]
        return any(row.conversation_id in mine and row.left_seq is None for row in rows)

    return {other for other, ok in zip(others, _pool.map(shares, others), strict=True) if ok}


# ---- writes --------------------------------------------------------------------------------------------


# A watermark's attributes on the row: (its seq, when it got there).
_WATERMARK_ATTRIBUTES: dict[ReceiptKind, tuple[str, str]] = {
    "delivered": ("delivered_seq", "delivered_at"),
    "read": ("read_seq", "read_at"),
}


def joining(
    conversation_id: str,
    user_id: str,
    joined_seq: int,
    joined_at: str,
    *,
    moved: WatermarkMove | None = None,
    only_if_new: bool = False,
    marked_at: int | None = None,
) -> Put:
    """A member whose watermarks start where it joined (it holds nothing before), or where `moved`
    raises them. A former member joining again replaces its old row unless `only_if_new`. `marked_at`:
    its joining is in its change log already, at that time (chat/change_log.py)."""
    row = MemberModel(
        conversation_id=conversation_id,
        user_id=user_id,
        joined_seq=joined_seq,
        joined_at=joined_at,
        delivered_seq=joined_seq,
        read_seq=joined_seq,
        marked_at=marked_at,
    )
    if moved is not None:
        for kind in moved.raises:
            seq_name, at_name = _WATERMARK_ATTRIBUTES[kind]
            setattr(row, seq_name, moved.receipt.seq)
            setattr(row, at_name, moved.receipt.at)
    return Put(row, MemberModel.user_id.does_not_exist() if only_if_new else None, role="member")


def raising(move: WatermarkMove, expected: Member | None = None) -> Update:
    """Raises the mover's watermarks as `move` decided, only while it is an active member and, with
    `expected`, only while they are still where `expected` has them."""
    receipt = move.receipt
    actions: list[Action] = []
    condition = MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist()
    for kind in move.raises:
        seq, at = (getattr(MemberModel, name) for name in _WATERMARK_ATTRIBUTES[kind])
        actions += [seq.set(receipt.seq), at.set(receipt.at)]
        if expected is not None:
            condition &= seq == expected.watermark(kind).seq
    return Update(
        MemberModel(conversation_id=receipt.conversation_id, user_id=receipt.user_id), actions, condition, "member"
    )


def marking(conversation_id: str, user_id: str, at_ms: int) -> Update:
    """Notes on the row that a change here was logged for the member at `at_ms` (only on an existing row)."""
    return Update(
        MemberModel(conversation_id=conversation_id, user_id=user_id),
        [MemberModel.marked_at.set(at_ms)],
        MemberModel.user_id.exists(),
        role="member",
    )


def unmark(conversation_id: str, user_id: str) -> bool:
    """A sync is about to read the conversation for the member: changes from now on are logged again.
    False when there is no such member."""
    return applied(
        Update(
            MemberModel(conversation_id=conversation_id, user_id=user_id),
            [MemberModel.marked_at.remove()],
            MemberModel.user_id.exists(),
        )
    )


def still_active(conversation_id: str, user_id: str) -> Check:
    """A transaction's condition that the user is a member of the conversation now (not gone)."""
    condition = MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist()
    return Check(MemberModel, conversation_id, user_id, condition, role="member")


def leaving(conversation: Conversation, user_id: str, left_at: str) -> Update:
    """The member is gone at the conversation's lastSeq (it keeps what it saw until then), at `left_at`, with
    the group's "*" watermarks as `conversation` has them (read a moment before: never ahead of the truth at
    leaving); only if it is a member now."""
    return Update(
        MemberModel(conversation_id=conversation.conversation_id, user_id=user_id),
        [
            MemberModel.left_seq.set(conversation.last_seq),
            MemberModel.left_at.set(left_at),
            MemberModel.all_delivered_at_leave.set(conversation.minimum("delivered").seq),
            MemberModel.all_read_at_leave.set(conversation.minimum("read").seq),
        ],
        MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist(),
        role="member",
    )


def set_muted(conversation_id: str, user_id: str, until: str | None) -> Member | None:
    """Mutes the conversation for an active member until `until` (None: unmutes); the row as stored after
    the write, or None when the user is not an active member."""
    row = MemberModel(conversation_id=conversation_id, user_id=user_id)
    action = MemberModel.muted_until.remove() if until is None else MemberModel.muted_until.set(until)
    if not applied(Update(row, [action], MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist())):
        return None
    return member_to_domain(row)


def set_blocked_by(conversation_id: str, user_ids: Iterable[str], blocker_id: str, blocked: bool) -> None:
    """Marks (or unmarks) the rows of a direct conversation's users as blocked by `blocker_id`, so the send
    path, which reads the sender's row anyway, refuses without another read."""
    for user_id in user_ids:
        row = MemberModel(conversation_id=conversation_id, user_id=user_id)
        action = MemberModel.blocked_by.add({blocker_id}) if blocked else MemberModel.blocked_by.delete({blocker_id})
        applied(Update(row, [action], MemberModel.user_id.exists()))
