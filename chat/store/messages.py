"""The Messages table, and the transactions that store a message with everything that goes with it.

A message is appended with one TransactWriteItems: the conversation's lastSeq moves from N to N+1
only if it still is N, the message (conversationId, N+1) is created only if absent, the
clientMsgId record is created only if absent and the sender must still be a member (whose own
watermarks move to the message, logged as a receipt). Either all of it is stored or none of it: a
seq can be neither skipped nor reused, and a retried send finds its clientMsgId record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chat.domain import Attachment, Message, MessageChange, PriorText, Reaction, WatermarkMove
from chat.store import client_msg_ids, conversations, members, receipts, users
from chat.store import message_changes as change_store
from chat.store.errors import AlreadyExists, DuplicateClientMsgId, NotAMember, StoreConflict
from chat.store.models import MessageModel
from chat.store.writes import Cancelled, Put, Update, transact


def message_to_domain(row: MessageModel) -> Message:
    reactions = row.reactions.as_dict() if row.reactions is not None else {}
    return Message(
        conversation_id=row.conversation_id,
        seq=int(row.seq),
        sender_id=row.sender_id,
        sender_device_id=row.sender_device_id,
        sender_connection_id=row.sender_connection_id,
        client_msg_id=row.client_msg_id,
        text=row.body.text,
        sent_at=row.sent_at,
        reply_to=None if row.reply_to is None else int(row.reply_to),
        edited_at=row.edited_at,
        deleted_at=row.deleted_at,
        prior_texts=tuple(PriorText(p["text"], p["until"]) for p in row.prior_texts or ()),
        reactions=tuple(
            sorted((Reaction(user, r["emoji"], r["at"]) for user, r in reactions.items()), key=lambda r: r.user_id)
        ),
        last_change=int(row.last_change or 0),
        attachment=_attachment_from(row.attachment.as_dict() if row.attachment is not None else None),
    )


def _attachment_from(stored: dict[str, Any] | None) -> Attachment | None:
    if not stored:
        return None

    def number(name: str) -> int | None:
        return None if stored.get(name) is None else int(stored[name])

    return Attachment(
        attachment_id=stored["attachmentId"],
        content_type=stored["contentType"],
        size=int(stored["size"]),
        name=stored.get("name"),
        width=number("width"),
        height=number("height"),
    )


def _attachment_item(attachment: Attachment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "attachmentId": attachment.attachment_id,
        "contentType": attachment.content_type,
        "size": attachment.size,
        "name": attachment.name,
        "width": attachment.width,
        "height": attachment.height,
    }
    return {k: v for k, v in item.items() if v is not None}


def get_message(conversation_id: str, seq: int) -> Message | None:
    try:
        return message_to_domain(MessageModel.get(conversation_id, seq, consistent_read=True))
    except DoesNotExist:
        return None


def messages_at(conversation_id: str, seqs: Iterable[int]) -> list[Message]:
    """These messages, in seq order (one BatchGetItem per 100, strongly consistent)."""
    keys = [(conversation_id, seq) for seq in sorted(set(seqs))]
    rows = MessageModel.batch_get(keys, consistent_read=True) if keys else []
    return sorted((message_to_domain(row) for row in rows), key=lambda m: m.seq)


def messages_after(conversation_id: str, after_seq: int, up_to: int | None = None, limit: int = 100) -> list[Message]:
    condition = MessageModel.seq > after_seq if up_to is None else MessageModel.seq.between(after_seq + 1, up_to)
    rows = MessageModel.query(conversation_id, range_key_condition=condition, limit=limit, consistent_read=True)
    return [message_to_domain(row) for row in rows]


def messages_before(conversation_id: str, before_seq: int, floor_seq: int, limit: int) -> list[Message]:
    """Up to `limit` newest messages with floor_seq < seq < before_seq, in ascending order."""
    if before_seq - 1 <= floor_seq:
        return []
    rows = MessageModel.query(
        conversation_id,
        range_key_condition=MessageModel.seq.between(floor_seq + 1, before_seq - 1),
        scan_index_forward=False,
        limit=limit,
        consistent_read=True,
    )
    return sorted((message_to_domain(row) for row in rows), key=lambda m: m.seq)


def message_from_image(image: dict[str, Any]) -> Message:
    """A message from a stream record's NewImage (DynamoDB JSON)."""
    return message_to_domain(MessageModel.from_raw_data(image))


def _storing(message: Message) -> list[Put]:
    """The message and its clientMsgId record, each only if absent."""
    row = MessageModel(
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        sender_device_id=message.sender_device_id,
        sender_connection_id=message.sender_connection_id,
        client_msg_id=message.client_msg_id,
        body={"text": message.text},
        sent_at=message.sent_at,
        reply_to=message.reply_to,
        attachment=_attachment_item(message.attachment) if message.attachment else None,
    )
    return [Put(row, MessageModel.seq.does_not_exist(), role="message"), client_msg_ids.recording(message)]


def _raise_for(exc: Cancelled) -> None:
    """Turns a cancelled send into a domain error."""
    # A moved lastSeq is retried first: the retry reads membership and the clientMsgId again.
    if exc.failed & {"conversation", "message", "pair"}:
        raise StoreConflict() from exc
    if "dedup" in exc.failed:
        raise DuplicateClientMsgId() from exc
    if "member" in exc.failed:
        raise NotAMember() from exc
    if exc.conflicted:
        raise StoreConflict() from exc
    raise exc


def append_message(
    message: Message, expected_last_seq: int, sender_move: WatermarkMove, busy_until: int | None = None
) -> None:
    """Stores `message` as seq expected_last_seq + 1, atomically with everything that goes with it."""
    assert message.seq == expected_last_seq + 1
    try:
        transact(
            [
                conversations.next_seq(message.conversation_id, expected_last_seq, busy_until),
                *_storing(message),
                members.raising(sender_move),
                receipts.logging(sender_move),
            ]
        )
    except Cancelled as exc:
        _raise_for(exc)


def create_direct_with_message(message: Message, recipient_id: str, sender_move: WatermarkMove) -> None:
    """First message between two users: the conversation, its pair lookup, both members and seq 1."""
    assert message.seq == 1
    conversation_id, sender_id, now = message.conversation_id, message.sender_id, message.sent_at
    try:
        transact(
            [
                *conversations.new_direct(conversation_id, sender_id, recipient_id, sender_id, message.seq, now),
                members.joining(conversation_id, sender_id, 0, now, moved=sender_move, only_if_new=True),
                members.joining(conversation_id, recipient_id, 0, now, only_if_new=True),
                *_storing(message),
                receipts.logging(sender_move),
                # A block that lands after the send read the lists: this creation fails, or the block
                # (which looks up the pair after it is stored) finds the chat and marks its rows.
                users.not_blocking(sender_id, recipient_id),
                users.not_blocking(recipient_id, sender_id),
            ]
        )
    except Cancelled as exc:
        if "pair" in exc.failed or "block" in exc.failed:
            raise AlreadyExists() from exc  # the other user created it first, or a block came: decide again
        _raise_for(exc)


def _state(message: Message) -> list[Any]:
    """SET / REMOVE actions that make the stored item hold this message's changeable state."""
    row = MessageModel
    actions: list[Any] = [
        row.body.set({"text": message.text}),
        row.last_change.set(message.last_change),
        row.edited_at.set(message.edited_at) if message.edited_at else row.edited_at.remove(),
        row.deleted_at.set(message.deleted_at) if message.deleted_at else row.deleted_at.remove(),
    ]
    if message.prior_texts:
        actions.append(row.prior_texts.set([{"text": p.text, "until": p.until} for p in message.prior_texts]))
    else:
        actions.append(row.prior_texts.remove())
    if message.reactions:
        actions.append(row.reactions.set({r.user_id: {"emoji": r.emoji, "at": r.at} for r in message.reactions}))
    else:
        actions.append(row.reactions.remove())
    if message.attachment is None:
        actions.append(row.attachment.remove())  # only a deletion drops it; nothing else changes it
    return actions


def store_change(changed: Message, change: MessageChange, expected_last_change: int) -> None:
    """Stores the message in its changed state as the conversation's change number
    expected_last_change + 1, with the change's record: only while the conversation's lastChange is as
    read (StoreConflict otherwise: read again and decide again), so changes are numbered without gaps,
    in the order they were stored, and each one starts from the message's state as the one before left it;
    and only while its author is still a member (NotAMember: it left or was removed meanwhile)."""
    assert change.change == expected_last_change + 1 == changed.last_change
    message_row = MessageModel(conversation_id=changed.conversation_id, seq=changed.seq)
    try:
        transact(
            [
                conversations.next_change(changed.conversation_id, expected_last_change),
                Update(message_row, _state(changed), MessageModel.seq.exists(), role="message"),
                change_store.recording(change),
                members.still_active(changed.conversation_id, change.by),
            ]
        )
    except Cancelled as exc:
        if "member" in exc.failed:
            raise NotAMember() from exc
        if exc.failed & {"conversation", "change"} or exc.conflicted:
            raise StoreConflict() from exc
        raise
