"""The one declaration of the system's shape: tables, functions, routes and streams.

The CDK app builds AWS resources from it and the local stack builds its tables, its gateway
routing and its stream pollers from it, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chat.actions import ACTIONS

KeyType = Literal["S", "N"]
StreamView = Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"]
Projection = Literal["ALL", "KEYS_ONLY"]
StreamEvent = Literal["INSERT", "MODIFY", "REMOVE"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition: Key
    sort: Key | None = None
    # KEYS_ONLY: the table's and the index's keys. An item update that changes neither writes nothing
    # to such an index.
    projection: Projection = "ALL"


@dataclass(frozen=True)
class Table:
    """One DynamoDB table. `env` is the variable that carries its name to every function."""

    logical_name: str
    env: str
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: StreamView | None = None
    # Message data must survive a `cdk destroy` and be restorable to any second.
    retain: bool = False


@dataclass(frozen=True)
class Access:
    """DynamoDB API actions a function calls on one table, or (`index`) Query on one of its indexes.

    These become the function's IAM grants, action by action, and nothing more: the local stack and
    the tests refuse any other call, and a test run shows every grant is used.
    """

    table: str
    actions: tuple[str, ...]
    index: str | None = None


def on(table: str, *actions: str, index: str | None = None) -> Access:
    return Access(table, actions, index)


@dataclass(frozen=True)
class Bucket:
    """One S3 bucket. `env` carries its name to the functions that use it. `expire_after_days`: objects
    under a prefix are deleted that many days after they were written (a lifecycle rule)."""

    logical_name: str
    env: str
    expire_after_days: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ObjectAccess:
    """S3 object actions a function may take on the objects under one prefix of a bucket (its IAM
    grants, as `Access` is for tables). A presigned URL acts with its signer's grants: signing a GET
    needs GetObject, signing a POST upload needs PutObject; HeadObject is authorized as GetObject and
    CopyObject as GetObject on its source and PutObject on its destination."""

    bucket: str
    prefix: str
    actions: tuple[str, ...]


def on_objects(bucket: str, prefix: str, *actions: str) -> ObjectAccess:
    return ObjectAccess(bucket, prefix, actions)


# Posting to a socket that is gone (410) deletes its connection record and its entry on the user.
GONE_SOCKET_CLEANUP = (on("Connections", "GetItem", "DeleteItem"), on("Users", "UpdateItem"))
# Where a user's sockets are: the connection ids listed on their Users item.
FIND_SOCKETS = on("Users", "BatchGetItem")
# Logging a change for the users it is pushed to (chat/change_log.py): an entry in each one's change log,
# and the mark on its Members row.
LOG_CHANGES = (on("Changes", "PutItem"), on("Members", "UpdateItem"))
# Sending a push notification through Amazon SNS (chat/notifiers.py): an endpoint per device token, created
# on the platform application, checked, published to, and deleted once the platform rejects the token.
MOBILE_PUSH = ("CreatePlatformEndpoint", "GetEndpointAttributes", "Publish", "DeleteEndpoint")
# Removing a device's endpoint when it signs out or registers another token.
MOBILE_PUSH_CLEANUP = ("DeleteEndpoint",)
# A route function serving an action with a rate limit (chat/actions.py `limit`) takes tokens from the
# user's bucket (chat/store/limits.py): a conditional UpdateItem, and a GetItem when a frame is refused.
TAKE_TOKENS = on("Limits", "GetItem", "UpdateItem")


@dataclass(frozen=True)
class Function:
    """One Lambda function. `handler` is `module.attribute`, relative to the project root."""

    name: str
    handler: str
    description: str
    access: tuple[Access, ...] = ()
    # Posts frames to clients through the API Gateway management (@connections) API.
    posts: bool = False
    # Closes clients' sockets through the same API (DELETE @connections/{id}).
    closes: bool = False
    memory_mb: int = 256
    timeout_s: int = 10  # a route waits at most 29 s for its integration
    # Queues (logical names of QUEUES) it sends messages to.
    enqueues: tuple[str, ...] = ()
    # Amazon SNS mobile push actions it calls (MOBILE_PUSH): on the platform applications the deployment
    # configures (CreatePlatformEndpoint) and on their endpoints (the others); infrastructure/push.py.
    mobile_push: tuple[str, ...] = ()
    # S3 object actions, per bucket and prefix.
    objects: tuple[ObjectAccess, ...] = ()

    @property
    def rate_limited(self) -> bool:
        """Whether it serves an action with a rate limit, and so takes tokens (TAKE_TOKENS)."""
        return any(action.limit is not None and action.function == self.name for action in ACTIONS)

    @property
    def grants(self) -> dict[tuple[str, str | None], tuple[str, ...]]:
        """(table, index) -> the sorted DynamoDB actions this function may call there."""
        merged: dict[tuple[str, str | None], set[str]] = {}
        derived = (GONE_SOCKET_CLEANUP if self.posts else ()) + ((TAKE_TOKENS,) if self.rate_limited else ())
        for access in self.access + derived:
            merged.setdefault((access.table, access.index), set()).update(access.actions)
        return {
            key: tuple(sorted(actions))
            for key, actions in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        }

    @property
    def object_grants(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """(bucket, prefix) -> the sorted S3 actions this function may take on the objects there."""
        merged: dict[tuple[str, str], set[str]] = {}
        for access in self.objects:
            merged.setdefault((access.bucket, access.prefix), set()).update(access.actions)
        return {key: tuple(sorted(actions)) for key, actions in sorted(merged.items())}


@dataclass(frozen=True)
class Route:
    key: str
    function: str


@dataclass(frozen=True)
class Stream:
    table: str
    function: str
    # "module:callable" that takes each record as a `chat.streams.Change`.
    consumer: str = ""
    batch_size: int = 100
    max_retries: int = 10
    # The only events the function is invoked for (the mapping's filter drops the others before any
    # invocation); empty: every event.
    events: tuple[StreamEvent, ...] = ()


@dataclass(frozen=True)
class Queue:
    """An SQS FIFO queue and the function that consumes it (a Lambda event source mapping). Messages
    of one group are handed to the function in order, one batch of a group at a time.

    `env` carries the queue's URL to the functions that send to it."""

    logical_name: str
    env: str
    function: str
    # "module:callable" that takes each message body (text), in order within its group.
    consumer: str
    batch_size: int = 10
    # Lambda's advice: at least six times the consumer's timeout.
    visibility_timeout_s: int = 60
    # Receives before a message goes to the queue's dead-letter queue (alarmed).
    max_receives: int = 5


@dataclass(frozen=True)
class Schedule:
    """A function run on a fixed rate (an EventBridge rule in AWS; the local stack's housekeeping)."""

    function: str
    # "module:callable" run with the invocation's deadline (time.monotonic() seconds).
    job: str
    every_s: int  # EventBridge rates are whole minutes


CONNECTIONS = Table(
    logical_name="Connections",
    env="CONNECTIONS_TABLE",
    partition=Key("userId"),
    sort=Key("connectionId"),
    # Connections by when their lease (liveUntil) ends, spread over leaseShard partitions: the sweep
    # finds the lapsed ones with one Query per shard, never a Scan (chat/liveness.py).
    indexes=(Index("byLease", partition=Key("leaseShard", "N"), sort=Key("liveUntil", "N"), projection="KEYS_ONLY"),),
    ttl_attribute="expiresAt",
    stream="NEW_AND_OLD_IMAGES",
)
USERS = Table(logical_name="Users", env="USERS_TABLE", partition=Key("userId"))
CONVERSATIONS = Table(
    logical_name="Conversations", env="CONVERSATIONS_TABLE", partition=Key("conversationId"), retain=True
)
MEMBERS = Table(
    logical_name="Members",
    env="MEMBERS_TABLE",
    partition=Key("conversationId"),
    sort=Key("userId"),
    indexes=(Index("byUser", partition=Key("userId"), sort=Key("conversationId")),),
    retain=True,
)
MESSAGES = Table(
    logical_name="Messages",
    env="MESSAGES_TABLE",
    partition=Key("conversationId"),
    sort=Key("seq", "N"),
    stream="NEW_IMAGE",
    retain=True,
)
# Edits, deletions and reactions, numbered per conversation (change 1, 2, 3, ...): `sync` sends those after a
# device's change cursor (chat/message_changes.py). Each message item holds its current state.
MESSAGE_CHANGES = Table(
    logical_name="MessageChanges",
    env="MESSAGE_CHANGES_TABLE",
    partition=Key("conversationId"),
    sort=Key("change", "N"),
    retain=True,
)
# (conversation, sender, clientMsgId) -> the original seq: what makes `send` idempotent.
CLIENT_MSG_IDS = Table(
    logical_name="ClientMsgIds", env="CLIENT_MSG_IDS_TABLE", partition=Key("dedupKey"), ttl_attribute="expiresAt"
)
# An append-only log of watermark moves; its stream pushes `receipt` frames.
RECEIPTS = Table(
    logical_name="Receipts",
    env="RECEIPTS_TABLE",
    partition=Key("conversationId"),
    sort=Key("receiptKey"),
    stream="NEW_IMAGE",
    retain=True,
)
# watched user -> the connections that asked for their presence.
PRESENCE_SUBSCRIPTIONS = Table(
    logical_name="PresenceSubscriptions",
    env="PRESENCE_SUBSCRIPTIONS_TABLE",
    partition=Key("watchedUserId"),
    sort=Key("connectionId"),
    ttl_attribute="expiresAt",
)
# Short-lived counters and token buckets (rate limits).
LIMITS = Table(logical_name="Limits", env="LIMITS_TABLE", partition=Key("limitKey"), ttl_attribute="expiresAt")
# Per device (userId, deviceId): where push notifications go while it has no open socket (chat/push_tokens.py).
PUSH_TOKENS = Table(
    logical_name="PushTokens",
    env="PUSH_TOKENS_TABLE",
    partition=Key("userId"),
    sort=Key("deviceId"),
    # Who else holds a token: a phone signed in as another user takes its token over (chat/push_tokens.py).
    indexes=(Index("byToken", partition=Key("token"), projection="KEYS_ONLY"),),
)
# Per user, a log of "this conversation changed for you at t" (changeKey: t, then the conversation id): a
# `sync` with a token reads only the conversations logged since it (chat/change_log.py). Entries expire
# after CHANGES_KEPT_S; a token older than that gets every conversation again.
CHANGES = Table(
    logical_name="Changes",
    env="CHANGES_TABLE",
    partition=Key("userId"),
    sort=Key("changeKey"),
    ttl_attribute="expiresAt",
    # Losing it would make tokens skip changes (Members still says they are logged): kept like Members.
    retain=True,
)

TABLES: dict[str, Table] = {
    t.logical_name: t
    for t in (
        CONNECTIONS,
        USERS,
        CONVERSATIONS,
        MEMBERS,
        MESSAGES,
        MESSAGE_CHANGES,
        CLIENT_MSG_IDS,
        RECEIPTS,
        PRESENCE_SUBSCRIPTIONS,
        LIMITS,
        CHANGES,
        PUSH_TOKENS,
    )
}

# Attachments (photos and files, chat/attachments.py). A client uploads with a presigned POST under
# uploads/<conversationId>/<attachmentId>; objects there expire after a day. The send that carries the
# attachment checks the upload (HeadObject) and copies it to attachments/<conversationId>/<attachmentId>,
# which nothing expires: what a stored message refers to stays until the message is deleted.
UPLOADS_PREFIX = "uploads/"
ATTACHMENTS_PREFIX = "attachments/"
ATTACHMENTS = Bucket("Attachments", "ATTACHMENTS_BUCKET", expire_after_days=((UPLOADS_PREFIX, 1),))
BUCKETS: dict[str, Bucket] = {b.logical_name: b for b in (ATTACHMENTS,)}
# Presigning a download URL of a stored attachment, for a `message` frame (chat/fanout.py `message_frame`).
PRESIGN_DOWNLOADS = on_objects("Attachments", ATTACHMENTS_PREFIX, "GetObject")

FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "authorizer",
            "functions.authorizer.handler.handler",
            "Verifies the JWT and deviceId of a WebSocket handshake",
        ),
        Function(
            "signup",
            "functions.signup.handler.handler",
            "Cognito post-confirmation trigger: creates the user when their account is confirmed",
            access=(on("Users", "PutItem"),),
            timeout_s=5,  # Cognito waits at most 5 s for a trigger
        ),
        Function(
            "connect",
            "functions.connect.handler.handler",
            "Stores the connection and lists it on the user (whose item it adds if sign-up did not), "
            "up to the per-user limit",
            access=(
                on("Connections", "PutItem", "Query"),  # Query: the user's live connections, at the limit
                on("Users", "UpdateItem", "GetItem"),  # GetItem: the listed ones, at the limit
            ),
        ),
        Function(
            "disconnect",
            "functions.disconnect.handler.handler",
            "Removes the connection",
            access=GONE_SOCKET_CLEANUP,
        ),
        Function(
            "default",
            "functions.default.handler.handler",
            "Answers frames that match no route with an error",
        ),
        Function(
            "ping",
            "functions.ping.handler.handler",
            "Answers ping with pong, renewing the connection's lease when it nears its end",
            access=(on("Connections", "GetItem", "UpdateItem"),),
        ),
        Function(
            "send",
            "functions.send.handler.handler",
            "Stores a message with the conversation's next seq, idempotently",
            access=(
                # The recipient of a first direct message exists; both block lists, read and then checked again
                # as the chat is created.
                on("Users", "GetItem", "ConditionCheckItem"),
                on("Conversations", "GetItem", "PutItem", "UpdateItem"),
                on("Members", "GetItem", "PutItem", "UpdateItem"),
                on("Messages", "PutItem"),
                on("ClientMsgIds", "GetItem", "PutItem"),
                on("Receipts", "PutItem"),
            ),
            enqueues=("Sends",),  # a send that lost the race for its seq, or into a busy conversation
            objects=(
                on_objects("Attachments", UPLOADS_PREFIX, "GetObject"),  # HeadObject, and the copy's source
                on_objects("Attachments", ATTACHMENTS_PREFIX, "PutObject"),  # the copy
            ),
        ),
        Function(
            "attachments",
            "functions.attachments.handler.handler",
            "requestUpload: a presigned S3 POST for one attachment of a conversation's member",
            access=(on("Conversations", "GetItem"), on("Members", "GetItem")),
            objects=(on_objects("Attachments", UPLOADS_PREFIX, "PutObject"),),  # signs the upload
        ),
        Function(
            "sequence",
            "functions.sequence.handler.handler",
            "Stores the sends queued for a busy conversation, one conversation at a time, and answers them",
            access=(
                on("Conversations", "GetItem", "UpdateItem"),
                on("Members", "GetItem", "UpdateItem"),
                on("Messages", "PutItem"),
                on("ClientMsgIds", "GetItem", "PutItem"),
                on("Receipts", "PutItem"),
            ),
            posts=True,
            timeout_s=10,
        ),
        Function(
            "fanout",
            "functions.fanout.handler.handler",
            "Pushes each new message to every connected device of every member",
            access=(on("Members", "Query"), *LOG_CHANGES, FIND_SOCKETS),
            objects=(PRESIGN_DOWNLOADS,),
            posts=True,
            memory_mb=512,
            timeout_s=60,
        ),
        Function(
            "receipts",
            "functions.receipts.handler.handler",
            "delivered / read watermarks and per-member message info",
            access=(
                on("Conversations", "GetItem"),
                on("Members", "GetItem", "Query", "UpdateItem"),
                on("Messages", "Query"),
                on("Receipts", "PutItem", "Query"),
            ),
        ),
        Function(
            "receipt_push",
            "functions.receipt_push.handler.handler",
            "Pushes receipt frames when a watermark moves",
            access=(
                on("Conversations", "GetItem", "UpdateItem"),
                on("Members", "GetItem", "Query"),  # GetItem: the mover's row, for a group member's own move
                on("Receipts", "PutItem"),  # the group's all-members ("*") move
                *LOG_CHANGES,
                FIND_SOCKETS,
            ),
            posts=True,
            memory_mb=512,
            timeout_s=60,
        ),
        Function(
            "sync",
            "functions.sync.handler.handler",
            "sync and history",
            access=(
                on("Conversations", "GetItem", "BatchGetItem"),
                on("Members", "GetItem", "Query", "UpdateItem"),  # UpdateItem: the caller's mark cleared
                on("Members", "Query", index="byUser"),
                on("Messages", "Query", "BatchGetItem"),  # BatchGetItem: messages changed after a change cursor
                on("MessageChanges", "Query"),
                on("Changes", "Query"),
                on("Users", "GetItem"),  # the caller's block list
            ),
            objects=(PRESIGN_DOWNLOADS,),
            posts=True,
            timeout_s=29,
        ),
        Function(
            "groups",
            "functions.groups.handler.handler",
            "createGroup, addMembers, removeMembers, leaveGroup",
            access=(
                on("Users", "BatchGetItem"),
                on("Conversations", "GetItem", "PutItem", "UpdateItem"),
                on("Members", "GetItem", "Query", "BatchWriteItem", "PutItem", "UpdateItem"),
                on("Receipts", "PutItem"),  # the all-members ("*") move when a laggard leaves
                *LOG_CHANGES,
            ),
            posts=True,
            memory_mb=512,
            timeout_s=29,
        ),
        Function(
            "message_changes",
            "functions.message_changes.handler.handler",
            "edit, delete and react: a message changed, numbered in its conversation, pushed to its members",
            access=(
                on("Conversations", "GetItem", "UpdateItem"),
                on("Members", "GetItem", "Query", "ConditionCheckItem"),  # the author is still a member
                on("Messages", "GetItem", "UpdateItem"),
                on("MessageChanges", "PutItem"),
                *LOG_CHANGES,
                FIND_SOCKETS,
            ),
            # A deleted message's attachment is deleted with it.
            objects=(on_objects("Attachments", ATTACHMENTS_PREFIX, "GetObject", "DeleteObject"),),
            posts=True,
            timeout_s=29,
        ),
        Function(
            "preferences",
            "functions.preferences.handler.handler",
            "mute, unmute, block, unblock, registerPush and unregisterPush: a user's own settings",
            access=(
                # the blocked user exists; the block list; pushPreviews
                on("Users", "GetItem", "UpdateItem"),
                on("Conversations", "GetItem"),
                on("Members", "GetItem", "UpdateItem"),
                on("PushTokens", "PutItem", "DeleteItem"),  # the device's token (the old one returned)
                on("PushTokens", "Query", index="byToken"),  # other users' rows for the same token
                *LOG_CHANGES,
                FIND_SOCKETS,  # also both block lists, after a block changed
                # What the two users' watching connections may now see of each other (chat/presence.py).
                on("PresenceSubscriptions", "Query", "BatchWriteItem"),
                on("Connections", "Query"),
                on("Members", "Query", index="byUser"),
                on("Conversations", "BatchGetItem"),
            ),
            posts=True,
            mobile_push=MOBILE_PUSH_CLEANUP,  # the endpoint of a token replaced or signed out
        ),
        Function(
            "notify",
            "functions.notify.handler.handler",
            "Sends a push notification of each new message to the members' devices that have no open socket",
            access=(
                on("Members", "Query"),
                # Who has a device registered, and its previews setting; a rejected token's device unlisted.
                on("Users", "BatchGetItem", "UpdateItem"),
                on("PushTokens", "Query", "UpdateItem", "DeleteItem"),  # endpoint ARN kept; rejected token removed
                on("Connections", "Query"),  # which devices have a socket open
                on("Limits", "UpdateItem"),  # one alert per (device, conversation) a window (chat/notify.py)
            ),
            mobile_push=MOBILE_PUSH,
            timeout_s=60,
        ),
        Function(
            "presence",
            "functions.presence.handler.handler",
            "subscribePresence",
            access=(
                on("Members", "Query", index="byUser"),
                on("Conversations", "BatchGetItem"),  # direct chats the index may not show yet
                on("Connections", "GetItem", "UpdateItem", "Query"),
                on("PresenceSubscriptions", "BatchWriteItem"),
                on("Users", "BatchGetItem"),  # lastSeen of the offline; block lists
            ),
            posts=True,
        ),
        Function(
            "presence_push",
            "functions.presence_push.handler.handler",
            "Tracks online / last seen from connection changes and pushes presence",
            access=(
                on("Connections", "Query"),
                on("Users", "GetItem", "UpdateItem", "BatchGetItem"),  # BatchGetItem: block lists
                on("PresenceSubscriptions", "Query", "BatchWriteItem"),
                # Do the watchers still share an active conversation with the user?
                on("Members", "Query", index="byUser"),
                on("Conversations", "BatchGetItem"),  # direct chats the index may not show yet
            ),
            posts=True,
            timeout_s=60,
        ),
        Function(
            "sweep",
            "functions.sweep.handler.handler",
            "Every minute: closes the connections whose lease lapsed (no ping) or whose token expired",
            access=(
                on("Connections", "Query", index="byLease"),
                on("Connections", "GetItem", "DeleteItem"),
                on("Users", "UpdateItem"),  # the connection off the user's list
            ),
            closes=True,
            timeout_s=50,  # done before the next minute's run
        ),
        Function(
            "typing",
            "functions.typing.handler.handler",
            "Relays typing indicators, rate limited, never stored",
            access=(
                on("Conversations", "GetItem"),
                on("Members", "GetItem", "Query"),
                on("Limits", "UpdateItem"),
                FIND_SOCKETS,
            ),
            posts=True,
        ),
    )
}

# Route selection is `$request.body.action`; every route returns its direct reply.
# API Gateway's own routes, then one per client action (chat/actions.py says which function serves it).
SYSTEM_ROUTES: tuple[Route, ...] = (
    Route("$connect", "connect"),
    Route("$disconnect", "disconnect"),
    Route("$default", "default"),
)
ROUTES: tuple[Route, ...] = SYSTEM_ROUTES + tuple(Route(action.name, action.function) for action in ACTIONS)
AUTHORIZER = "authorizer"
# Neither a route nor a stream: Cognito calls it once an account is confirmed (post-confirmation
# trigger); locally, `/dev/token` calls it before issuing a token.
SIGNUP = "signup"
# Where the authorizer looks; API Gateway refuses a handshake without them (401).
AUTHORIZER_IDENTITY_SOURCES = ("route.request.querystring.token", "route.request.querystring.deviceId")

STREAMS: tuple[Stream, ...] = (
    # An edit, deletion or reaction updates the item in place (MODIFY): pushed by its own function instead.
    Stream("Messages", "fanout", "chat.changes.messages:message_changed", events=("INSERT",)),
    # The same records, for the devices without a socket: a mapping of its own, so a failing push service
    # never holds back the sockets' fan-out (and the reverse).
    Stream("Messages", "notify", "chat.changes.message_notifications:message_stored", events=("INSERT",)),
    Stream("Receipts", "receipt_push", "chat.changes.receipts:receipt_logged"),
    # A MODIFY (a renewed lease, a new watched set) changes no one's presence: never invoked for one.
    Stream("Connections", "presence_push", "chat.changes.connections:connection_changed", events=("INSERT", "REMOVE")),
)

# Sends into a busy conversation, grouped by conversation: its one writer (chat/sequencer.py).
QUEUES: tuple[Queue, ...] = (
    Queue("Sends", "SENDS_QUEUE_URL", "sequence", "chat.sequencer:sequence_queued", visibility_timeout_s=60),
)

SCHEDULES: tuple[Schedule, ...] = (Schedule("sweep", "chat.liveness:sweep", every_s=60),)

# How long a connection counts as live after it connected or last renewed its lease (a `ping` renews
# it once less than 7/12 of it is left). Every function gets it as CONNECTION_LEASE_S; the local stack
# may shorten it for tests.
CONNECTION_LEASE_S = 12 * 60

# Environment variable names shared by AWS and the local stack.
ENV_CALLBACK_URL = "WEBSOCKET_CALLBACK_URL"
ENV_JWT_ISSUER = "JWT_ISSUER"
ENV_JWT_AUDIENCE = "JWT_AUDIENCE"
ENV_JWKS_URL = "JWT_JWKS_URL"
ENV_CONNECTION_LEASE_S = "CONNECTION_LEASE_S"


def route_for(action: str) -> Route:
    """The route API Gateway would pick for a frame's action."""
    for route in ROUTES:
        if route.key == action and not action.startswith("$"):
            return route
    return next(r for r in ROUTES if r.key == "$default")
