"""Sending: the conversation's next seq, stored durably and idempotently before `sent` is answered."""

from __future__ import annotations

import uuid

from chat import watermarks
from chat.access import membership
from chat.clock import now_iso
from chat.domain import Caller, Message, SentMessage
from chat.errors import BadRequest, Forbidden, Internal, NotFound
from chat.faults import fault_point
from chat.observability import logger, metrics
from chat.protocol import SendFrame, SentOut
from chat.retry import retrying
from chat.store import client_msg_ids, conversations, users
from chat.store import messages as message_store
from chat.store.errors import AlreadyExists, DuplicateClientMsgId, NotAMember, StoreConflict

# Every sender of a conversation races for its next seq (lastSeq moves only from the value read), and a
# busy group has many at once: a send that lost reads again and tries the seq after the winner's.
SEND_ATTEMPTS = 40


def send(caller: Caller, frame: SendFrame) -> SentOut:
    sent = send_message(caller, frame.conversationId, frame.to, frame.clientMsgId, frame.body.text)
    fault_point("send.crash_after_store")  # tests only (chat/faults.py): dies stored but unanswered
    return SentOut(
        conversationId=sent.conversation_id, clientMsgId=sent.client_msg_id, seq=sent.seq, sentAt=sent.sent_at
    )


def send_message(
    caller: Caller, conversation_id: str | None, to: str | None, client_msg_id: str, text: str
) -> SentMessage:
    def attempt() -> SentMessage:
        if to is not None:
            return _send_direct(caller, to, client_msg_id, text)
        assert conversation_id is not None
        return _send_to_conversation(caller, conversation_id, client_msg_id, text)

    return retrying(
        attempt,
        retry_on=StoreConflict,
        attempts=SEND_ATTEMPTS,
        gave_up=Internal("the conversation is too busy; please retry"),
    )


def _send_direct(caller: Caller, to: str, client_msg_id: str, text: str) -> SentMessage:
    if to == caller.user_id:
        raise BadRequest("cannot send a direct message to yourself")
    conversation_id = conversations.find_direct(caller.user_id, to)
    if conversation_id is not None:
        return _send_to_conversation(caller, conversation_id, client_msg_id, text)
    if not users.user_exists(to):
        raise NotFound(f"no user {to!r}")
    message = _new_message(caller, "d_" + uuid.uuid4().hex, 1, client_msg_id, text)
    try:
        message_store.create_direct_with_message(message, recipient_id=to, sender_move=watermarks.sending(message))
    except AlreadyExists:
        raise StoreConflict() from None  # created concurrently: retry through the lookup
    metrics.add_metric(name="MessagesSent", unit="Count", value=1)
    return SentMessage(message.conversation_id, client_msg_id, 1, message.sent_at)


def _send_to_conversation(caller: Caller, conversation_id: str, client_msg_id: str, text: str) -> SentMessage:
    earlier = client_msg_ids.find_sent(conversation_id, caller.user_id, client_msg_id)
    if earlier is not None:
        return earlier
    conversation, _member = membership(caller.user_id, conversation_id)
    message = _new_message(caller, conversation_id, conversation.last_seq + 1, client_msg_id, text)
    try:
        message_store.append_message(
            message, expected_last_seq=conversation.last_seq, sender_move=watermarks.sending(message)
        )
    except DuplicateClientMsgId:
        # A concurrent retry of the same send won; answer with what it stored.
        earlier = client_msg_ids.find_sent(conversation_id, caller.user_id, client_msg_id)
        if earlier is None:
            raise StoreConflict() from None
        return earlier
    except NotAMember:
        raise Forbidden("you are not a member of this conversation") from None
    logger.debug("message stored", extra={"conversationId": conversation_id, "seq": message.seq})
    metrics.add_metric(name="MessagesSent", unit="Count", value=1)
    return SentMessage(conversation_id, client_msg_id, message.seq, message.sent_at)


def _new_message(caller: Caller, conversation_id: str, seq: int, client_msg_id: str, text: str) -> Message:
    return Message(
        conversation_id=conversation_id,
        seq=seq,
        sender_id=caller.user_id,
        sender_device_id=caller.device_id,
        sender_connection_id=caller.connection_id,
        client_msg_id=client_msg_id,
        text=text,
        sent_at=now_iso(),
    )
