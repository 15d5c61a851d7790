"""The ClientMsgIds table: (conversation, sender, clientMsgId) -> the seq it was stored under, which
makes `send` idempotent."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist

from chat.domain import Message, SentMessage
from chat.store.models import ClientMsgIdModel
from chat.store.writes import Put

# The protocol promises idempotency for at least 24 hours; a week costs little.
CLIENT_MSG_ID_TTL_S = 7 * 24 * 3600


def _dedup_key(conversation_id: str, sender_id: str, client_msg_id: str) -> str:
    return f"{conversation_id}|{sender_id}|{client_msg_id}"


def find_sent(conversation_id: str, sender_id: str, client_msg_id: str) -> SentMessage | None:
    try:
        row = ClientMsgIdModel.get(_dedup_key(conversation_id, sender_id, client_msg_id), consistent_read=True)
    except DoesNotExist:
        return None
    return SentMessage(conversation_id, client_msg_id, int(row.seq), row.sent_at)


def recording(message: Message) -> Put:
    """The message's clientMsgId record; only if the sender has not used that clientMsgId there yet."""
    row = ClientMsgIdModel(
        dedup_key=_dedup_key(message.conversation_id, message.sender_id, message.client_msg_id),
        conversation_id=message.conversation_id,
        seq=message.seq,
        sent_at=message.sent_at,
        expires_at=int(time.time()) + CLIENT_MSG_ID_TTL_S,
    )
    return Put(row, ClientMsgIdModel.dedup_key.does_not_exist(), role="dedup")
