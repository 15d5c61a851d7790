"""Sending: the conversation's next seq, stored durably and idempotently before `sent` is answered.

A send tries once to store itself as the conversation's next seq. When another send took that seq
first, or the conversation is busy, it does not retry: it joins the conversation's FIFO queue, whose
one consumer stores the queued sends one after another and answers `sent` on the sender's socket
(chat/sequencer.py). So the requests a send costs do not grow with the number of concurrent senders;
docs/sequencing.md says why no seq is skipped or reused.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from chat import attachments, clock, watermarks
from chat.access import membership
from chat.blocks import CANNOT_MESSAGE, UNBLOCK_TO_MESSAGE, refuse_if_blocked
from chat.clock import now_iso
from chat.domain import Attachment, Caller, Conversation, Message, SentMessage
from chat.errors import BadRequest, Forbidden, Internal, NotFound
from chat.faults import fault_point
from chat.observability import logger, metrics
from chat.protocol import AttachmentIn, SendFrame, SentOut
from chat.retry import retrying
from chat.store import client_msg_ids, conversations, queues, users
from chat.store import messages as message_store
from chat.store.errors import AlreadyExists, DuplicateClientMsgId, NotAMember, StoreConflict

# Only the first message of a direct chat, whose creation both users may race (or a transaction on
# its new items may cancel, TransactionConflict), is retried here; a handful of tries with backoff.
CREATE_ATTEMPTS = 10
# After the sequencer stored a send, the conversation counts as busy for this long: its sends go
# straight to the queue instead of racing the sequencer for the next seq.
BUSY_FOR_S = 10
SENDS_QUEUE = "Sends"


class QueuedSend(BaseModel):
    """A send waiting in the conversation's queue for the sequencer (chat/sequencer.py) to store it."""

    # Built on first use, not at import (a cold start pays for it only when a send is queued).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    conversationId: str
    senderId: str
    senderDeviceId: str
    connectionId: str
    clientMsgId: str
    text: str
    requestId: str | None = None
    replyTo: int | None = None
    # Proven uploaded and copied by the send that queued it (chat/attachments.py `accept`).
    attachment: AttachmentIn | None = None

    @property
    def caller(self) -> Caller:
        return Caller(user_id=self.senderId, device_id=self.senderDeviceId, connection_id=self.connectionId)


def send(caller: Caller, frame: SendFrame) -> SentOut | None:
    """`sent` now, or nothing when the send was queued: the sequencer answers it on the same socket."""
    sent = send_message(
        caller,
        frame.conversationId,
        frame.to,
        frame.clientMsgId,
        frame.body.text,
        frame.requestId,
        frame.replyTo,
        frame.attachment,
    )
    if sent is None:
        return None
    fault_point("send.crash_after_store")  # tests only (chat/faults.py): dies stored but unanswered
    return sent_frame(sent)


def sent_frame(sent: SentMessage, request_id: str | None = None) -> SentOut:
    return SentOut(
        conversationId=sent.conversation_id,
        clientMsgId=sent.client_msg_id,
        seq=sent.seq,
        sentAt=sent.sent_at,
        requestId=request_id,
    )


def send_message(
    caller: Caller,
    conversation_id: str | None,
    to: str | None,
    client_msg_id: str,
    text: str,
    request_id: str | None = None,
    reply_to: int | None = None,
    attachment: AttachmentIn | None = None,
) -> SentMessage | None:
    """The stored message, or None when the send was queued for the conversation's sequencer."""
    if to is None:
        assert conversation_id is not None
        return _send_to_conversation(caller, conversation_id, client_msg_id, text, request_id, reply_to, attachment)
    # Uploads belong to a conversation: a send to a user (`to`) carries none (SendFrame refuses it).
    assert attachment is None
    return retrying(
        lambda: _send_direct(caller, to, client_msg_id, text, request_id, reply_to),
        retry_on=StoreConflict,
        attempts=CREATE_ATTEMPTS,
        gave_up=Internal("the conversation could not be created; please retry"),
    )


def _send_direct(
    caller: Caller, to: str, client_msg_id: str, text: str, request_id: str | None, reply_to: int | None
) -> SentMessage | None:
    if to == caller.user_id:
        raise BadRequest("cannot send a direct message to yourself")
    conversation_id = conversations.find_direct(caller.user_id, to)
    if conversation_id is not None:
        return _send_to_conversation(caller, conversation_id, client_msg_id, text, request_id, reply_to)
    blocked_by_recipient = users.blocked_by_user(to)
    if blocked_by_recipient is None:
        raise NotFound(f"no user {to!r}")
    # Read only when a direct chat is started; in an existing one the member rows carry it (chat/blocks.py).
    if caller.user_id in blocked_by_recipient:
        raise Forbidden(CANNOT_MESSAGE)
    if to in (users.blocked_by_user(caller.user_id) or ()):
        raise Forbidden(UNBLOCK_TO_MESSAGE)
    if reply_to is not None:
        raise BadRequest(f"no message {reply_to} that you can see in this conversation")
    message = _new_message(caller, "d_" + uuid.uuid4().hex, 1, client_msg_id, text, None)
    try:
        message_store.create_direct_with_message(message, recipient_id=to, sender_move=watermarks.sending(message))
    except AlreadyExists:
        raise StoreConflict() from None  # created concurrently: retry through the lookup
    metrics.add_metric(name="MessagesSent", unit="Count", value=1)
    return SentMessage(message.conversation_id, client_msg_id, 1, message.sent_at)


def _send_to_conversation(
    caller: Caller,
    conversation_id: str,
    client_msg_id: str,
    text: str,
    request_id: str | None,
    reply_to: int | None,
    attachment: AttachmentIn | None = None,
) -> SentMessage | None:
    earlier = client_msg_ids.find_sent(conversation_id, caller.user_id, client_msg_id)
    if earlier is not None:
        return earlier
    conversation, member = membership(caller.user_id, conversation_id)
    refuse_if_blocked(member)
    # Messages are gapless: a seq up to lastSeq that the sender can see is a stored message (deleted ones
    # too: the quote shows as deleted).
    if reply_to is not None and not (reply_to <= conversation.last_seq and member.can_see(reply_to)):
        raise BadRequest(f"no message {reply_to} that you can see in this conversation")
    if attachment is not None:
        # Proven and copied before anything is stored or queued: a bad one stores nothing.
        attachments.accept(caller, conversation_id, attachment)
    queued = QueuedSend(
        conversationId=conversation_id,
        senderId=caller.user_id,
        senderDeviceId=caller.device_id,
        connectionId=caller.connection_id,
        clientMsgId=client_msg_id,
        text=text,
        requestId=request_id,
        replyTo=reply_to,
        attachment=attachment,
    )
    if conversation.busy_until <= clock.epoch_s():
        try:
            return store_next(conversation, queued)
        except StoreConflict:
            pass  # another send took the seq: no second try here, whatever the number of senders
    # One seq, one writer: the sequencer stores the conversation's queued sends one after another.
    queues.enqueue(
        SENDS_QUEUE,
        group=conversation_id,
        deduplication=f"{conversation_id}/{caller.user_id}/{client_msg_id}",
        # Fields not set are left out: an attachment's optional fields may be absent, never null.
        body=queued.model_dump_json(exclude_none=True),
    )
    metrics.add_metric(name="SendsQueued", unit="Count", value=1)
    return None


def store_next(conversation: Conversation, send: QueuedSend, busy_until: int | None = None) -> SentMessage:
    """Stores the send as the conversation's next seq: lastSeq must still be as read (StoreConflict
    otherwise). `busy_until` marks the conversation busy (the sequencer's writes)."""
    message = _new_message(
        send.caller,
        conversation.conversation_id,
        conversation.last_seq + 1,
        send.clientMsgId,
        send.text,
        send.replyTo,
        attachments.as_attachment(send.attachment) if send.attachment else None,
    )
    try:
        message_store.append_message(
            message,
            expected_last_seq=conversation.last_seq,
            sender_move=watermarks.sending(message),
            busy_until=busy_until,
        )
    except DuplicateClientMsgId:
        # A concurrent retry of the same send won; answer with what it stored.
        earlier = client_msg_ids.find_sent(conversation.conversation_id, send.senderId, send.clientMsgId)
        if earlier is None:
            raise StoreConflict() from None
        return earlier
    except NotAMember:
        raise Forbidden("you are not a member of this conversation") from None
    logger.debug("message stored", extra={"conversationId": conversation.conversation_id, "seq": message.seq})
    metrics.add_metric(name="MessagesSent", unit="Count", value=1)
    return SentMessage(conversation.conversation_id, send.clientMsgId, message.seq, message.sent_at)


def _new_message(
    caller: Caller,
    conversation_id: str,
    seq: int,
    client_msg_id: str,
    text: str,
    reply_to: int | None,
    attachment: Attachment | None = None,
) -> Message:
    return Message(
        conversation_id=conversation_id,
        seq=seq,
        sender_id=caller.user_id,
        sender_device_id=caller.device_id,
        sender_connection_id=caller.connection_id,
        client_msg_id=client_msg_id,
        text=text,
        sent_at=now_iso(),
        reply_to=reply_to,
        attachment=attachment,
    )
