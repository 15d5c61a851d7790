"""The one declaration of the system's shape: tables, functions, routes and streams.

The CDK app builds AWS resources from it and the local stack builds its tables, its gateway
routing and its stream pollers from it, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyType = Literal["S", "N"]
StreamView = Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition: Key
    sort: Key | None = None


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
class Function:
    """One Lambda function. `handler` is `module.attribute`, relative to the project root."""

    name: str
    handler: str
    description: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    # Posts frames to clients through the API Gateway management (@connections) API.
    posts: bool = False
    memory_mb: int = 256
    timeout_s: int = 10  # a route waits at most 29 s for its integration


@dataclass(frozen=True)
class Route:
    key: str
    function: str


@dataclass(frozen=True)
class Stream:
    table: str
    function: str
    batch_size: int = 100
    max_retries: int = 10


CONNECTIONS = Table(
    logical_name="Connections",
    env="CONNECTIONS_TABLE",
    partition=Key("userId"),
    sort=Key("connectionId"),
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
# Short-lived counters (typing rate limits).
LIMITS = Table(logical_name="Limits", env="LIMITS_TABLE", partition=Key("limitKey"), ttl_attribute="expiresAt")

TABLES: dict[str, Table] = {
    t.logical_name: t
    for t in (
        CONNECTIONS,
        USERS,
        CONVERSATIONS,
        MEMBERS,
        MESSAGES,
        CLIENT_MSG_IDS,
        RECEIPTS,
        PRESENCE_SUBSCRIPTIONS,
        LIMITS,
    )
}


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
            writes=("Users",),
            timeout_s=5,  # Cognito waits at most 5 s for a trigger
        ),
        Function(
            "connect",
            "functions.connect.handler.handler",
            "Stores the connection and lists it on the user (whose item it adds if sign-up did not)",
            reads=("Users",),
            writes=("Connections", "Users"),
        ),
        Function(
            "disconnect",
            "functions.disconnect.handler.handler",
            "Removes the connection",
            writes=("Connections",),
        ),
        Function(
            "default",
            "functions.default.handler.handler",
            "Answers frames that match no route with an error",
        ),
        Function("ping", "functions.ping.handler.handler", "Answers ping with pong"),
        Function(
            "send",
            "functions.send.handler.handler",
            "Stores a message with the conversation's next seq, idempotently",
            reads=("Users", "Conversations", "Members", "ClientMsgIds", "Messages"),
            writes=("Conversations", "Members", "Messages", "ClientMsgIds", "Receipts"),
        ),
        Function(
            "fanout",
            "functions.fanout.handler.handler",
            "Pushes each new message to every connected device of every member",
            reads=("Members", "Connections"),
            writes=("Connections",),
            posts=True,
            memory_mb=512,
            timeout_s=60,
        ),
        Function(
            "receipts",
            "functions.receipts.handler.handler",
            "delivered / read watermarks and per-member message info",
            reads=("Conversations", "Members", "Receipts"),
            writes=("Conversations", "Members", "Receipts"),
        ),
        Function(
            "receipt_push",
            "functions.receipt_push.handler.handler",
            "Pushes receipt frames when a watermark moves",
            reads=("Members", "Connections"),
            writes=("Connections",),
            posts=True,
            memory_mb=512,
            timeout_s=60,
        ),
        Function(
            "sync",
            "functions.sync.handler.handler",
            "sync and history",
            reads=("Conversations", "Members", "Messages", "Receipts"),
            writes=("Connections",),
            posts=True,
            timeout_s=29,
        ),
        Function(
            "groups",
            "functions.groups.handler.handler",
            "createGroup, addMembers, removeMembers, leaveGroup",
            reads=("Users", "Conversations", "Members", "Connections"),
            writes=("Conversations", "Members", "Connections"),
            posts=True,
            memory_mb=512,
            timeout_s=29,
        ),
        Function(
            "presence",
            "functions.presence.handler.handler",
            "subscribePresence",
            reads=("Users", "Members", "Connections", "PresenceSubscriptions"),
            writes=("Connections", "PresenceSubscriptions"),
            posts=True,
        ),
        Function(
            "presence_push",
            "functions.presence_push.handler.handler",
            "Tracks online / last seen from connection changes and pushes presence",
            reads=("Users", "Connections", "PresenceSubscriptions"),
            writes=("Users", "Connections", "PresenceSubscriptions"),
            posts=True,
            timeout_s=60,
        ),
        Function(
            "typing",
            "functions.typing.handler.handler",
            "Relays typing indicators, rate limited, never stored",
            reads=("Members", "Connections"),
            writes=("Connections", "Limits"),
            posts=True,
        ),
    )
}

# Route selection is `$request.body.action`; every route returns its direct reply.
ROUTES: tuple[Route, ...] = (
    Route("$connect", "connect"),
    Route("$disconnect", "disconnect"),
    Route("$default", "default"),
    Route("ping", "ping"),
    Route("send", "send"),
    Route("delivered", "receipts"),
    Route("read", "receipts"),
    Route("receipts", "receipts"),
    Route("sync", "sync"),
    Route("history", "sync"),
    Route("createGroup", "groups"),
    Route("addMembers", "groups"),
    Route("removeMembers", "groups"),
    Route("leaveGroup", "groups"),
    Route("subscribePresence", "presence"),
    Route("typing", "typing"),
)
AUTHORIZER = "authorizer"
# Neither a route nor a stream: Cognito calls it once an account is confirmed (post-confirmation
# trigger); locally, `/dev/token` calls it before issuing a token.
SIGNUP = "signup"
# Where the authorizer looks; API Gateway refuses a handshake without them (401).
AUTHORIZER_IDENTITY_SOURCES = ("route.request.querystring.token", "route.request.querystring.deviceId")

STREAMS: tuple[Stream, ...] = (
    Stream("Messages", "fanout"),
    Stream("Receipts", "receipt_push"),
    Stream("Connections", "presence_push"),
)

# Environment variable names shared by AWS and the local stack.
ENV_CALLBACK_URL = "WEBSOCKET_CALLBACK_URL"
ENV_JWT_ISSUER = "JWT_ISSUER"
ENV_JWT_AUDIENCE = "JWT_AUDIENCE"
ENV_JWKS_URL = "JWT_JWKS_URL"


def route_for(action: str) -> Route:
    """The route API Gateway would pick for a frame's action."""
    for route in ROUTES:
        if route.key == action and not action.startswith("$"):
            return route
    return next(r for r in ROUTES if r.key == "$default")
