"""The sequencer: the one writer of a busy conversation.

Sends that lost the race for a conversation's next seq, or arrived while it was busy, wait in the
Sends FIFO queue, grouped by conversation (chat/messages.py). SQS hands a group's messages to one
invocation at a time, in order, so here nobody else is storing sends of that conversation (but for a
send that read the conversation before it was marked busy: the rare lost race is retried). Each queued
send is stored as the next seq, or found stored already (a redelivery, or the client's own resend
that got there first), and answered on the sender's socket: `sent`, or the `error` the send route
would have answered.
"""

from __future__ import annotations

from chat import clock, push
from chat.access import membership
from chat.domain import Endpoint, SentMessage
from chat.errors import ChatError, Internal
from chat.faults import fault_point
from chat.messages import BUSY_FOR_S, QueuedSend, sent_frame, store_next
from chat.observability import logger
from chat.protocol import ErrorOut, ServerFrame
from chat.retry import retrying
from chat.store import client_msg_ids
from chat.store.errors import StoreConflict

# Lost races here are sends that read the conversation just before it was marked busy: a few at most.
ATTEMPTS = 10


def sequence_queued(body: str) -> None:
    """Stores one queued send and answers it. Raises (and SQS delivers it again, and the rest of its
    conversation after it) only when it could not be stored: an answered send is never stored twice."""
    queued = QueuedSend.model_validate_json(body)
    answer: ServerFrame
    try:
        stored = retrying(
            lambda: _store(queued),
            retry_on=StoreConflict,
            attempts=ATTEMPTS,
            gave_up=Internal("the conversation is too busy"),
        )
        fault_point("send.crash_after_store")  # tests only: stored, not answered; SQS delivers it again
        answer = sent_frame(stored, queued.requestId)
    except Internal:
        raise
    except ChatError as exc:  # what the send route answers when the send was refused
        logger.info("queued send refused", extra={"code": exc.code, "reason": exc.message})
        answer = ErrorOut(
            code=exc.code,  # type: ignore[arg-type]
            message=exc.message,
            action="send",
            requestId=queued.requestId,
            clientMsgId=queued.clientMsgId,
        )
    sender = Endpoint(queued.senderId, queued.connectionId)
    posted = push.post_in_order(sender, [answer.json_text().encode("utf-8")])
    if not posted.ok:
        # Stored all the same; the client resends unanswered sends and gets `sent` from the record.
        logger.warning("queued send stored but not answered", extra={"connectionId": queued.connectionId})


def _store(queued: QueuedSend) -> SentMessage:
    earlier = client_msg_ids.find_sent(queued.conversationId, queued.senderId, queued.clientMsgId)
    if earlier is not None:
        return earlier
    conversation, _member = membership(queued.senderId, queued.conversationId)
    return store_next(conversation, queued, busy_until=clock.epoch_s() + BUSY_FOR_S)
