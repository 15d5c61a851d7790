"""Check marks: delivered / read watermarks, their pushes, and per-member message info."""

from __future__ import annotations

import random
import time

from chat.access import membership
from chat.clock import now_iso
from chat.domain import ALL_MEMBERS, Caller, Receipt, ReceiptKind
from chat.errors import BadRequest, Internal
from chat.protocol import DeliveredFrame, MemberReceipt, ReadFrame, ReceiptOut, ReceiptsFrame, ReceiptsOut
from chat.push import push_to_users
from chat.store import conversations as store
from chat.store import groups as group_store
from chat.store import receipts as receipt_store
from chat.store.errors import StoreConflict

MAX_ATTEMPTS = 8


def acknowledge(caller: Caller, frame: DeliveredFrame | ReadFrame) -> None:
    """`delivered` / `read`: raise the caller's watermark; no direct reply."""
    kind: ReceiptKind = frame.action
    for attempt in range(MAX_ATTEMPTS):
        conversation, member = membership(caller.user_id, frame.conversationId)
        if frame.seq > conversation.last_seq:
            raise BadRequest(f"seq {frame.seq} is beyond the conversation's last ({conversation.last_seq})")
        try:
            receipt_store.move_watermark(member, kind, frame.seq, now_iso(), caller.connection_id)
            return None
        except StoreConflict:
            time.sleep(0.01 * 2**attempt * random.random())
    raise Internal("could not record the receipt; please retry")


def message_info(caller: Caller, frame: ReceiptsFrame) -> ReceiptsOut:
    """`receipts`: when each other member got and read one message."""
    conversation, member = membership(caller.user_id, frame.conversationId, former_ok=True)
    if frame.seq > conversation.last_seq or not member.can_see(frame.seq):
        raise BadRequest(f"seq {frame.seq} is not a message you can see")
    message = store.messages_after(frame.conversationId, frame.seq - 1, up_to=frame.seq, limit=1)
    sender = message[0].sender_id if message else None
    members = []
    for other in store.list_members(frame.conversationId, consistent=True):
        if other.user_id == sender or not other.can_see(frame.seq):
            continue
        read_at = (
            receipt_store.first_move_at(frame.conversationId, other.user_id, "read", frame.seq)
            if other.read_seq >= frame.seq
            else None
        )
        delivered_directly = (
            receipt_store.first_move_at(frame.conversationId, other.user_id, "delivered", frame.seq)
            if other.delivered_seq >= frame.seq
            else None
        )
        # Reading implies delivery: a device that went straight to `read` was delivered then.
        delivered_at = min((t for t in (delivered_directly, read_at) if t), default=None)
        members.append(MemberReceipt(userId=other.user_id, deliveredAt=delivered_at, readAt=read_at))
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
    conversation = store.get_conversation(receipt.conversation_id)
    if conversation is None:
        return
    if conversation.kind == "group" and receipt.user_id != ALL_MEMBERS:
        # A member's own move: only its other devices hear of it, so no member rows are read.
        audience = [receipt.user_id]
        _track_group_minimum(receipt, conversation.at_min_delivered, conversation.at_min_read)
    else:
        # "*" goes to the whole group; in a direct chat the other user sees their check marks
        # change and the mover's other devices follow its read state.
        audience = [m.user_id for m in store.list_members(receipt.conversation_id) if m.active]
    result = push_to_users(audience, receipt_frame(receipt).json_text(), exclude_connection=origin_connection_id)
    result.raise_if_incomplete("receipt push", conversationId=receipt.conversation_id)


def _track_group_minimum(receipt: Receipt, at_min_delivered: frozenset[str], at_min_read: frozenset[str]) -> None:
    kinds: list[tuple[ReceiptKind, frozenset[str]]] = [("delivered", at_min_delivered)]
    if receipt.kind == "read":
        kinds.append(("read", at_min_read))
    for kind, holding in kinds:
        if receipt.user_id in holding and group_store.release_from_minimum(
            receipt.conversation_id, receipt.user_id, kind
        ):
            group_store.advance_minimum(receipt.conversation_id, kind, receipt.at)
