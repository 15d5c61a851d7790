"""PynamoDB models: the only place that knows attribute names. Keys match chat.topology."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection as DynamoConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chat import topology
from chat.config import dynamodb_endpoint, region, table_name


class _FromEnvironment:
    """A Meta setting read from the environment when PynamoDB uses it, not when this module is imported."""

    def __init__(self, read: Callable[[], Any]) -> None:
        self.read = read

    def __get__(self, instance: object, owner: type) -> Any:
        return self.read()


def _table(table: topology.Table) -> Any:
    return _FromEnvironment(lambda: table_name(table))


class _Meta:
    region = _FromEnvironment(region)
    # AWS_ENDPOINT_URL_DYNAMODB, the variable boto3 reads, given to PynamoDB explicitly (moto locally).
    host = _FromEnvironment(dynamodb_endpoint)
    max_retry_attempts = 5
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


def connection() -> DynamoConnection:
    """The connection transactions go through (models make their own)."""
    return _connection(region(), dynamodb_endpoint())


@lru_cache(maxsize=4)
def _connection(region_name: str, host: str | None) -> DynamoConnection:
    return DynamoConnection(region=region_name, host=host, max_retry_attempts=5)


class ConnectionsByLease(GlobalSecondaryIndex["ConnectionModel"]):
    class Meta:
        index_name = topology.CONNECTIONS.indexes[0].name
        projection = KeysOnlyProjection()

    lease_shard = NumberAttribute(hash_key=True, attr_name="leaseShard")
    live_until = NumberAttribute(range_key=True, attr_name="liveUntil")


class ConnectionModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.CONNECTIONS)

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    connection_id = UnicodeAttribute(range_key=True, attr_name="connectionId")
    device_id = UnicodeAttribute(attr_name="deviceId")
    connected_at = UnicodeAttribute(attr_name="connectedAt")
    expires_at = NumberAttribute(attr_name="expiresAt")
    # The users this connection watches, so a new subscribePresence can drop the old set.
    presence_watch = UnicodeSetAttribute(attr_name="presenceWatch", null=True)
    # The end of its lease (epoch s), renewed by ping; the shard of the byLease index it is listed in.
    live_until = NumberAttribute(attr_name="liveUntil", null=True)
    lease_shard = NumberAttribute(attr_name="leaseShard", null=True)
    token_expires_at = NumberAttribute(attr_name="tokenExpiresAt", null=True)
    by_lease = ConnectionsByLease()


class UserModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.USERS)

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    created_at = UnicodeAttribute(attr_name="createdAt")
    last_seen = UnicodeAttribute(attr_name="lastSeen", null=True)
    # The user's open connection ids: one BatchGetItem finds the sockets of 100 users for a fan-out.
    connection_ids = UnicodeSetAttribute(attr_name="connectionIds", null=True)
    # The users this user blocked (chat/blocks.py).
    blocked = UnicodeSetAttribute(attr_name="blocked", null=True)
    # Whether push notifications show the sender's text (absent: they do); chat/push_tokens.py.
    push_previews = BooleanAttribute(attr_name="pushPreviews", null=True)
    # The devices with a row in PushTokens: notify reads this (one BatchGetItem per 100 members) and
    # queries the tokens of those users only (chat/store/push_tokens.py keeps it).
    push_devices = UnicodeSetAttribute(attr_name="pushDevices", null=True)


class ConversationModel(Model):
    """A conversation, or (kind "pair") the lookup from a user pair to their direct conversation."""

    class Meta(_Meta):
        table_name = _table(topology.CONVERSATIONS)

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    kind = UnicodeAttribute(attr_name="kind")
    name = UnicodeAttribute(attr_name="name", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    created_by = UnicodeAttribute(attr_name="createdBy", null=True)
    last_seq = NumberAttribute(attr_name="lastSeq", default=0)
    busy_until = NumberAttribute(attr_name="busyUntil", null=True)
    last_change = NumberAttribute(attr_name="lastChange", null=True)
    admins: Any = ListAttribute(of=UnicodeAttribute, attr_name="admins", null=True)
    member_count = NumberAttribute(attr_name="memberCount", default=0)
    all_delivered = NumberAttribute(attr_name="allDelivered", default=0)
    all_read = NumberAttribute(attr_name="allRead", default=0)
    at_min_delivered = UnicodeSetAttribute(attr_name="atMinDelivered", null=True)
    at_min_read = UnicodeSetAttribute(attr_name="atMinRead", null=True)
    target = UnicodeAttribute(attr_name="target", null=True)


class MembersByUser(GlobalSecondaryIndex["MemberModel"]):
    class Meta:
        index_name = topology.MEMBERS.indexes[0].name
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    conversation_id = UnicodeAttribute(range_key=True, attr_name="conversationId")


class MemberModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.MEMBERS)

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    joined_seq = NumberAttribute(attr_name="joinedSeq", default=0)
    joined_at = UnicodeAttribute(attr_name="joinedAt")
    left_seq = NumberAttribute(attr_name="leftSeq", null=True)
    # Set with leftSeq: when the member left and the group's "*" watermarks then (what it is told from now on).
    left_at = UnicodeAttribute(attr_name="leftAt", null=True)
    all_delivered_at_leave = NumberAttribute(attr_name="allDeliveredAtLeave", null=True)
    all_read_at_leave = NumberAttribute(attr_name="allReadAtLeave", null=True)
    delivered_seq = NumberAttribute(attr_name="deliveredSeq", default=0)
    read_seq = NumberAttribute(attr_name="readSeq", default=0)
    delivered_at = UnicodeAttribute(attr_name="deliveredAt", null=True)
    read_at = UnicodeAttribute(attr_name="readAt", null=True)
    # Set when a change here was logged in the member's Changes (epoch ms), removed when a sync reads the
    # conversation for it: while set, later changes need not be logged again (chat/change_log.py).
    marked_at = NumberAttribute(attr_name="markedAt", null=True)
    # The user muted the conversation until then (chat/domain.py MUTED_FOREVER: until unmuted).
    muted_until = UnicodeAttribute(attr_name="mutedUntil", null=True)
    # In a direct conversation: which of its two users blocked the other (chat/blocks.py).
    blocked_by = UnicodeSetAttribute(attr_name="blockedBy", null=True)
    by_user = MembersByUser()


class MessageBody(MapAttribute[str, str]):
    text = UnicodeAttribute()


class MessageModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.MESSAGES)

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    seq = NumberAttribute(range_key=True, attr_name="seq")
    sender_id = UnicodeAttribute(attr_name="senderId")
    sender_device_id = UnicodeAttribute(attr_name="senderDeviceId")
    sender_connection_id = UnicodeAttribute(attr_name="senderConnectionId")
    client_msg_id = UnicodeAttribute(attr_name="clientMsgId")
    body = MessageBody(attr_name="body")
    sent_at = UnicodeAttribute(attr_name="sentAt")
    reply_to = NumberAttribute(attr_name="replyTo", null=True)
    edited_at = UnicodeAttribute(attr_name="editedAt", null=True)
    deleted_at = UnicodeAttribute(attr_name="deletedAt", null=True)
    # [{"text", "until"}], oldest first: the texts edits replaced (chat/domain.py `Message.as_seen_by`).
    prior_texts: Any = ListAttribute(attr_name="priorTexts", null=True)
    # userId -> {"emoji", "at"}.
    reactions: Any = MapAttribute(attr_name="reactions", null=True)
    last_change = NumberAttribute(attr_name="lastChange", null=True)
    # {"attachmentId", "contentType", "size", and "name", "width", "height" when given}: never a URL.
    attachment: Any = MapAttribute(attr_name="attachment", null=True)


class MessageChangeModel(Model):
    """One edit, deletion or reaction: which message, numbered in its conversation (chat/message_changes.py)."""

    class Meta(_Meta):
        table_name = _table(topology.MESSAGE_CHANGES)

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    change = NumberAttribute(range_key=True, attr_name="change")
    seq = NumberAttribute(attr_name="seq")
    kind = UnicodeAttribute(attr_name="kind")
    by = UnicodeAttribute(attr_name="by")
    at = UnicodeAttribute(attr_name="at")


class ClientMsgIdModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.CLIENT_MSG_IDS)

    dedup_key = UnicodeAttribute(hash_key=True, attr_name="dedupKey")
    conversation_id = UnicodeAttribute(attr_name="conversationId")
    seq = NumberAttribute(attr_name="seq")
    sent_at = UnicodeAttribute(attr_name="sentAt")
    expires_at = NumberAttribute(attr_name="expiresAt")


class ReceiptModel(Model):
    """One forward move of one watermark (userId "*" for a group's all-members watermark)."""

    class Meta(_Meta):
        table_name = _table(topology.RECEIPTS)

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    receipt_key = UnicodeAttribute(range_key=True, attr_name="receiptKey")
    user_id = UnicodeAttribute(attr_name="userId")
    kind = UnicodeAttribute(attr_name="kind")
    seq = NumberAttribute(attr_name="seq")
    at = UnicodeAttribute(attr_name="at")
    # The connection that caused the move: it gets no echo of its own acknowledgement.
    origin_connection_id = UnicodeAttribute(attr_name="originConnectionId", null=True)


class PresenceSubscriptionModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.PRESENCE_SUBSCRIPTIONS)

    watched_user_id = UnicodeAttribute(hash_key=True, attr_name="watchedUserId")
    connection_id = UnicodeAttribute(range_key=True, attr_name="connectionId")
    subscriber_user_id = UnicodeAttribute(attr_name="subscriberUserId")
    expires_at = NumberAttribute(attr_name="expiresAt")


class LimitModel(Model):
    class Meta(_Meta):
        table_name = _table(topology.LIMITS)

    limit_key = UnicodeAttribute(hash_key=True, attr_name="limitKey")
    # Fixed windows (typing). Not `count`: that name is Model.count(), which an attribute would shadow.
    uses = NumberAttribute(attr_name="count", default=0)
    # Token buckets: when the bucket is full again, epoch ms (chat/token_bucket.py).
    full_at = NumberAttribute(attr_name="fullAt", null=True)
    # Push notifications: no other alert to this device for this conversation until then, epoch s (chat/notify.py).
    notified_until = NumberAttribute(attr_name="notifiedUntil", null=True)
    # ... and the seq that alert was for: once the user read up to it, the window no longer holds.
    notified_seq = NumberAttribute(attr_name="notifiedSeq", null=True)
    expires_at = NumberAttribute(attr_name="expiresAt")


class ChangeModel(Model):
    """One entry of a user's change log: the conversation changed for the user at `changeKey`'s time."""

    class Meta(_Meta):
        table_name = _table(topology.CHANGES)

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    change_key = UnicodeAttribute(range_key=True, attr_name="changeKey")
    conversation_id = UnicodeAttribute(attr_name="conversationId")
    expires_at = NumberAttribute(attr_name="expiresAt")


class PushTokensByToken(GlobalSecondaryIndex["PushTokenModel"]):
    class Meta:
        index_name = topology.PUSH_TOKENS.indexes[0].name
        projection = KeysOnlyProjection()

    token = UnicodeAttribute(hash_key=True, attr_name="token")


class PushTokenModel(Model):
    """Where one device of a user is sent push notifications (chat/push_tokens.py)."""

    class Meta(_Meta):
        table_name = _table(topology.PUSH_TOKENS)

    by_token = PushTokensByToken()

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    device_id = UnicodeAttribute(range_key=True, attr_name="deviceId")
    platform = UnicodeAttribute(attr_name="platform")
    token = UnicodeAttribute(attr_name="token")
    registered_at = UnicodeAttribute(attr_name="registeredAt")
    # The Amazon SNS platform endpoint made for the token, once one was (chat/notifiers.py).
    endpoint_arn = UnicodeAttribute(attr_name="endpointArn", null=True)


ALL_MODELS: tuple[type[Model], ...] = (
    ConnectionModel,
    UserModel,
    ConversationModel,
    MemberModel,
    MessageModel,
    MessageChangeModel,
    ClientMsgIdModel,
    ReceiptModel,
    PresenceSubscriptionModel,
    LimitModel,
    ChangeModel,
    PushTokenModel,
)
