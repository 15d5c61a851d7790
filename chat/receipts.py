"""Check marks: delivered / read watermarks, their pushes, and per-member message info."""

from __future__ import annotations

from chat import watermarks
from chat.access import membership
from chat.change_log import log_change
from chat.clock import now_iso
from chat.domain import RECEIPT_KINDS, Caller, Conversation, Member, Receipt, ReceiptKind
from chat.errors import BadRequest, Internal
from chat.protocol import DeliveredFrame, MemberReceipt, ReadFrame, ReceiptOut, ReceiptsFrame, ReceiptsOut
from chat.push import push_to_users
from chat.retry import retrying
from chat.store import conversations
from chat.store import members as member_store
from chat.store import messages as message_store
from chat.store import receipts as receipt_store
from chat.store.errors import StoreConflict

# A watermark moves only from where it was read: the user's other devices acking, or the user sending,
# at the same moment make an ack read again and decide again (few racers: one user's devices).
ACK_ATTEMPTS = 8


def acknowledge(caller: Caller, frame: DeliveredFrame | ReadFrame) -> None:
    """`delivered` / `read`: raise the caller's watermark; no direct reply."""
    kind: ReceiptKind = frame.action

    def attempt() -> None:
        conversation, member = membership(caller.user_id, frame.conversationId)
        if frame.seq > conversation.last_seq:
            raise BadRequest(f"seq {frame.seq} is beyond the conversation's last ({conversation.last_seq})")
        move = watermarks.acknowledgement(member, kind, frame.seq, now_iso(), caller.connection_id)
        if move is not None:
            receipt_store.move_watermark(member, move)

    retrying(
        attempt,
        retry_on=StoreConflict,
        attempts=ACK_ATTEMPTS,
        gave_up=Internal("could not record the receipt; please retry"),
    )


def message_info(caller: Caller, frame: ReceiptsFrame) -> ReceiptsOut:
    """`receipts`: when each other member got and read one message.

    A former member is told only what happened up to its leaving: a later delivery or read is null.
    """
    conversation, member = membership(caller.user_id, frame.conversationId, former_ok=True)
    if frame.seq > conversation.last_seq or not member.can_see(frame.seq):
        raise BadRequest(f"seq {frame.seq} is not a message you can see")
    message = message_store.messages_after(frame.conversationId, frame.seq - 1, up_to=frame.seq, limit=1)
    sender = message[0].sender_id if message else None
    members = []
    for other in member_store.list_members(frame.conversationId, consistent=True):
        if other.user_id == sender or not other.can_see(frame.seq):
            continue
        first = {
            kind: member.saw_by_then(receipt_store.first_move_at(frame.conversationId, other.user_id, kind, frame.seq))
            if other.watermark(kind).seq >= frame.seq
            else None
            for kind in RECEIPT_KINDS
        }
        delivered_at = watermarks.delivered_at(first["delivered"], first["read"])
        members.append(MemberReceipt(userId=other.user_id, deliveredAt=delivered_at, readAt=first["read"]))
    return ReceiptsOut(conversationId=frame.conversationId, seq=frame.seq, members=members)


def receipt_frame(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut(
        conversationId=receipt.conversation_id,
        userId=receipt.user_id,
        kind=receipt.kind,
        seq=receipt.seq,
        at=receipt.at,
    )


def on_receipt_logged(receipt: Receipt, origin_connection_id: str | None) -> None:
    """Receipts stream: push the move, and keep a group's all-members watermark current."""
    conversation = conversations.get_conversation(receipt.conversation_id)
    if conversation is None:
        return
    if watermarks.is_group_members_own_move(conversation.kind, receipt.user_id):
        _track_group_minimum(conversation, receipt)
    read: list[Member] = []

    def active_member_ids() -> list[str]:
        # Strongly consistent: a member whose mark a sync just cleared must be logged for again.
        read.extend(member_store.active_members(receipt.conversation_id, consistent=True))
        return [m.user_id for m in read]

    audience = watermarks.receipt_audience(conversation.kind, receipt.user_id, active_member_ids)
    if not read:  # a group member's own move: its row alone
        read = [m for m in [member_store.get_member(receipt.conversation_id, receipt.user_id)] if m is not None]
    # Logged before the sockets are looked up (chat/change_log.py).
    log_change(receipt.conversation_id, [m for m in read if m.user_id in audience])
    result = push_to_users(audience, receipt_frame(receipt).json_text(), exclude_connection=origin_connection_id)
    result.raise_if_incomplete("receipt push", conversationId=receipt.conversation_id)


def _track_group_minimum(conversation: Conversation, receipt: Receipt) -> None:
    """A member moved: once nobody is left at a group minimum it was holding, that minimum moves up.

    Nobody at the minimum already means a push died between releasing it and moving it (two writes):
    its retry, or the next move, moves it then. Otherwise it would never move again.
    """
    for kind in watermarks.implied_kinds(receipt.kind):
        holding = conversation.minimum(kind).holding
        if not holding or (
            receipt.user_id in holding
            and conversations.release_from_minimum(receipt.conversation_id, receipt.user_id, kind)
        ):
            recompute_group_minimum(receipt.conversation_id, kind, receipt.at)


def recompute_group_minimum(conversation_id: str, kind: ReceiptKind, at: str) -> None:
    """With nobody left at the group's `kind` minimum, reads the members once to find the new one, and
    logs a "*" receipt if it moved up. Runs when the last member at it moves on or leaves."""
    conversation = conversations.get_conversation(conversation_id)
    if conversation is None or conversation.kind != "group":
        return
    before = conversation.minimum(kind)
    if before.holding:
        return  # someone is still at the minimum
    after = watermarks.group_minimum(member_store.list_members(conversation_id, consistent=True), kind)
    if after is None or not conversations.set_minimum(conversation_id, kind, before, after):
        return  # no members, or recomputed concurrently
    move = watermarks.all_members_move(conversation_id, kind, before, after, at)
    if move is not None:
        receipt_store.log_move(move)
