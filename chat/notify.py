"""Push notifications of new messages, to the devices that have no open socket.

For each stored message (the Messages stream, its own mapping beside fan-out's), each device that

- belongs to a member who may see the message, other than its sender (none of the sender's devices),
- has a push token (registerPush),
- has no connection that counts now (an open socket gets the message itself, chat/fanout.py),
- and whose user has not muted the conversation (its member row's mutedUntil, chat/preferences.py),

gets one notification: the sender and, unless the user turned previews off, the first PREVIEW_CHARS
characters of the text.

Coalescing: one alert per (device, conversation) per NOTIFY_WINDOW_S. Before sending, a marker
"notified until now + window" is taken by one conditional write (chat/store/push_tokens.py), which
only succeeds when no marker is running or the user read up to the seq it was taken for: a burst of 50
messages alerts once, concurrent takers cannot both win, a device that stays offline hears of the
conversation again a window later, and a message after the user read the chat (on another device)
alerts at once.
A send that fails gives the marker back before the record fails, so the retry alerts.

Delivery is as reliable as fan-out: a record that fails is retried by Lambda (in order per
conversation, chat/streams.py), then goes to the mapping's on-failure queue. A token its platform
rejects is removed (and its SNS endpoint deleted).
"""

from __future__ import annotations

from chat import clock, notifiers
from chat.concurrency import ContextPool
from chat.domain import Message, Notification, PushToken
from chat.notifiers import Notifier
from chat.observability import logger, metrics
from chat.push import live_connections_of
from chat.store import members as member_store
from chat.store import push_tokens as token_store

NOTIFY_WINDOW_S = 30
PREVIEW_CHARS = 100
MAX_PARALLEL_SENDS = 16

_pool = ContextPool(max_workers=MAX_PARALLEL_SENDS, name="notify")


class NotifyIncomplete(Exception):
    """Some notifications could not be sent: the stream record is retried."""


def preview_of(text: str) -> str:
    """At most PREVIEW_CHARS characters of the text on one line, an ellipsis where it was cut."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1].rstrip() + "…"


def preview_text(message: Message) -> str:
    """What a notification previews: the text, or for a photo or file sent without a caption, what it is."""
    if message.text.strip() or message.attachment is None:
        return message.text
    if message.attachment.content_type.startswith("image/"):
        return "\U0001f4f7 Photo"
    return "\U0001f4ce " + (message.attachment.name or "File")


def notify(message: Message, notifier: Notifier | None = None) -> dict[str, int]:
    """Notifies the offline devices of a new message; returns how many were sent, coalesced, rejected..."""
    notifier = notifier or notifiers.default_notifier()
    now_iso = clock.now_iso()
    read_up_to = {
        m.user_id: m.read_seq
        for m in member_store.list_members(message.conversation_id)
        if m.can_see(message.seq) and m.user_id != message.sender_id and not m.muted(now_iso)
    }
    recipients = list(read_up_to)
    # Only the users with a device registered have their tokens read.
    settings = token_store.push_settings(recipients)
    tokens = [token for found in _pool.map(token_store.tokens_of, list(settings)) for token in found]
    counts = {"sent": 0, "coalesced": 0, "rejected": 0, "skipped": 0, "online": 0, "failed": 0}
    if not tokens:
        return counts
    online = {(c.user_id, c.device_id) for c in live_connections_of(t.user_id for t in tokens)}
    offline = [t for t in tokens if (t.user_id, t.device_id) not in online]
    counts["online"] = len(tokens) - len(offline)

    def one(token: PushToken) -> str:
        try:
            return _notify_device(message, token, settings[token.user_id][1], read_up_to[token.user_id], notifier)
        except Exception:
            logger.exception("push notification failed", extra={"userId": token.user_id, "deviceId": token.device_id})
            return "failed"

    for outcome in _pool.map(one, offline):
        counts[outcome] += 1
    metrics.add_metric(name="PushNotifications", unit="Count", value=counts["sent"])
    if counts["failed"]:
        raise NotifyIncomplete(f"{counts['failed']} push notifications failed")
    return counts


def _notify_device(message: Message, token: PushToken, previews: bool, read_seq: int, notifier: Notifier) -> str:
    now = clock.epoch_s()
    until = now + NOTIFY_WINDOW_S
    if not token_store.take_notification(token, message.conversation_id, message.seq, read_seq, now, until):
        return "coalesced"
    notification = Notification(
        device=token,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        preview=preview_of(preview_text(message)) if previews else None,
    )
    try:
        delivery = notifier.send(notification)
    except Exception:
        token_store.give_back_notification(token, message.conversation_id, until)
        raise
    if delivery.outcome == "rejected":
        token_store.remove_rejected(token)
        logger.info("push token removed", extra={"userId": token.user_id, "deviceId": token.device_id})
    elif delivery.endpoint_arn and delivery.endpoint_arn != token.endpoint_arn:
        token_store.remember_endpoint(token, delivery.endpoint_arn)
    return delivery.outcome
