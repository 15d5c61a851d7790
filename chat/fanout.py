"""Fan-out: every new message to every connected device of every member who may see it."""

from __future__ import annotations

from chat.attachments import attachment_out
from chat.change_log import log_change
from chat.domain import Member, Message
from chat.faults import fault_point
from chat.observability import metrics
from chat.protocol import MessageOut, MessageText
from chat.push import ConnectionPoster, PushResult, push_to_users
from chat.store import members as member_store


def message_frame(message: Message, viewer: Member | None = None) -> MessageOut:
    """The message in its current state, or as the (former) member `viewer` may see it."""
    if viewer is not None:
        message = message.as_seen_by(viewer)
    return MessageOut(
        conversationId=message.conversation_id,
        seq=message.seq,
        senderId=message.sender_id,
        senderDeviceId=message.sender_device_id,
        clientMsgId=message.client_msg_id,
        # As stored: validated when it was sent (a message stored before a rule existed is still delivered).
        body=MessageText(text=message.text),
        sentAt=message.sent_at,
        replyTo=message.reply_to,
        editedAt=message.edited_at,
        deleted=True if message.deleted else None,
        reactions={r.user_id: r.emoji for r in message.reactions} or None,
        change=message.last_change or None,
        # A download URL presigned now (members only get these frames); none once deleted.
        attachment=attachment_out(message),
    )


def fan_out(message: Message, poster: ConnectionPoster | None = None) -> PushResult:
    # Strongly consistent: a member whose mark a sync just cleared must be logged for again.
    members = [m for m in member_store.list_members(message.conversation_id, consistent=True) if m.can_see(message.seq)]
    # Logged before the sockets are looked up: a device that connected meanwhile either finds the entry
    # at its sync or is pushed the message (chat/change_log.py).
    log_change(message.conversation_id, members)
    # The sending device already has its `sent`; the sender's other devices get the message.
    result = push_to_users(
        [m.user_id for m in members],
        message_frame(message).json_text(),
        exclude_connection=message.sender_connection_id,
        poster=poster,
    )
    fault_point("fanout.crash")  # tests only (chat/faults.py): dies after the POSTs, failing the batch
    posts = len(result.delivered) + len(result.gone) + len(result.failed)
    metrics.add_metric(name="FanoutPosts", unit="Count", value=posts)
    result.raise_if_incomplete("fan-out", conversationId=message.conversation_id, seq=message.seq)
    return result
