"""The wire contract (docs/PROTOCOL.md) as pydantic models: client frames in, server frames out.

Client frames are strict: unknown fields, wrong types and out-of-range values are `bad_request`
(chat/actions.py parses them and knows which action each frame is for).

Every model is built (its validator and serializer) when first used, not when this module is
imported (`defer_build`): a function uses a few of these frames, and building all of them was most
of its cold start (scripts/cold_start.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from chat import sync_token

# Limits checked outside these models: chat/protocol_limits.py.
MAX_TEXT_CHARS = 4096
MAX_GROUP_NAME_CHARS = 100
HISTORY_DEFAULT_LIMIT = 50
MAX_SYNC_TOKEN_CHARS = 256

ClientMsgId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ConversationId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Seq = Annotated[int, Field(ge=1)]
Timestamp = str

# Text people read (message text, group names) holds no control characters but newline and tab: not
# the other C0 controls (U+0000-U+001F: NUL, carriage return, escape, ...), not DEL (U+007F), not
# the C1 controls (U+0080-U+009F). None of them shows as anything; NUL cuts C strings short, escape
# and CSI (U+009B) start terminal control sequences, NEL (U+0085) breaks lines in some renderers.
# Clients send line breaks as "\n" alone. Other invisible characters (zero-width joiners, bidi marks)
# are part of real text and stay allowed.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same rule as a JSON Schema pattern (ECMA-262), for the AsyncAPI document.
TEXT_PATTERN = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"


def _no_control_characters(text: str) -> str:
    found = _CONTROL_CHARACTER.search(text)
    if found:
        raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed (only newline and tab are)")
    return text


# Lengths are counted in code points.
DisplayText = Annotated[str, AfterValidator(_no_control_characters), Field(json_schema_extra={"pattern": TEXT_PATTERN})]


class ClientFrame(BaseModel):
    """A frame a client sends; chat/actions.py lists every one and parses them."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    requestId: RequestId | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data)


def _refuse_nulls(data: Any) -> Any:
    # Optional fields may be left out, never sent as null.
    if isinstance(data, dict):
        for key, value in data.items():
            if value is None:
                raise ValueError(f"{key} must not be null")
    return data


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    text: Annotated[DisplayText, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class SendBody(BaseModel):
    """A sent message's text: empty only when the message carries an attachment (its caption, then)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    text: Annotated[DisplayText, StringConstraints(max_length=MAX_TEXT_CHARS)]


# Attachments (chat/attachments.py): at most this many bytes, of these types.
MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024
AttachmentContentType = Literal[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
    "text/plain",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
    "video/mp4",
    "video/quicktime",
    "application/zip",
]
ATTACHMENT_CONTENT_TYPES: tuple[str, ...] = get_args(AttachmentContentType)
AttachmentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
AttachmentSize = Annotated[int, Field(ge=1, le=MAX_ATTACHMENT_BYTES)]
MAX_FILE_NAME_CHARS = 255
FileName = Annotated[DisplayText, StringConstraints(min_length=1, max_length=MAX_FILE_NAME_CHARS)]
# Pixels, for a client to lay out an image or video before it downloads it.
Dimension = Annotated[int, Field(ge=1, le=100_000)]


class AttachmentIn(BaseModel):
    """The attachment a `send` carries: one uploaded after `requestUpload`, as promised there."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    attachmentId: AttachmentId
    contentType: AttachmentContentType
    size: AttachmentSize
    name: FileName | None = None
    width: Dimension | None = None
    height: Dimension | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data)


class SendFrame(ClientFrame):
    action: Literal["send"]
    conversationId: ConversationId | None = None
    to: UserId | None = None
    clientMsgId: ClientMsgId
    body: SendBody
    # The seq of the message this one answers, in the same conversation (one the sender can see).
    replyTo: Seq | None = None
    # A photo or file uploaded after `requestUpload` (body.text is then its caption, maybe empty).
    attachment: AttachmentIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SendFrame:
        if (self.conversationId is None) == (self.to is None):
            raise ValueError("exactly one of conversationId and to is required")
        if self.attachment is not None and self.conversationId is None:
            # Uploads belong to a conversation (requestUpload names it): a first direct message has none yet.
            raise ValueError("an attachment needs conversationId (a first direct message is text)")
        if not self.body.text and self.attachment is None:
            raise ValueError("body.text must not be empty unless the message carries an attachment")
        return self


class RequestUploadFrame(ClientFrame):
    action: Literal["requestUpload"]
    conversationId: ConversationId
    contentType: AttachmentContentType
    size: AttachmentSize
    name: FileName | None = None


# An emoji as people pick it: a short run of symbols (skin tones, joiners, flags and keycaps are
# several code points), no whitespace, no control characters and no ASCII letters, so words and
# markup are refused. "" (react) takes the caller's reaction away.
MAX_EMOJI_CHARS = 16
EMOJI_PATTERN = r"^[^\x00-\x20\x7F-\x9FA-Za-z\s]{1,16}$"
_EMOJI = re.compile(EMOJI_PATTERN)
# How often one message may be edited: each edit keeps the text it replaces for former members
# (chat/message_changes.py), and an item holds at most 400 KB.
MAX_EDITS = 10


def _an_emoji_or_nothing(text: str) -> str:
    if text and not _EMOJI.match(text):
        raise ValueError(f"must be one emoji (1-{MAX_EMOJI_CHARS} characters, no letters or spaces), or empty")
    return text


Emoji = Annotated[
    str, AfterValidator(_an_emoji_or_nothing), Field(json_schema_extra={"pattern": "^$|" + EMOJI_PATTERN})
]


class EditFrame(ClientFrame):
    action: Literal["edit"]
    conversationId: ConversationId
    seq: Seq
    body: MessageBody


class DeleteFrame(ClientFrame):
    action: Literal["delete"]
    conversationId: ConversationId
    seq: Seq


class ReactFrame(ClientFrame):
    action: Literal["react"]
    conversationId: ConversationId
    seq: Seq
    emoji: Emoji


def _an_instant(text: str) -> str:
    """An ISO 8601 time with its zone (e.g. 2026-12-01T08:00:00Z), as the server writes it: UTC, ms."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-12-01T08:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("must say its time zone, e.g. 2026-12-01T08:00:00Z")
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# What `_an_instant` reads, as a pattern the AsyncAPI schema carries too (so both refuse the same texts).
INSTANT_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
Instant = Annotated[str, StringConstraints(max_length=40, pattern=INSTANT_PATTERN), AfterValidator(_an_instant)]


class MuteFrame(ClientFrame):
    action: Literal["mute"]
    conversationId: ConversationId
    # Until when; absent or null: until `unmute`. A time already past unmutes.
    until: Instant | None = None


class UnmuteFrame(ClientFrame):
    action: Literal["unmute"]
    conversationId: ConversationId


# Push tokens (registerPush). An APNs device token is hex (32 bytes today; Apple says it may grow); an
# FCM registration token is URL-safe text; a Web Push subscription is its JSON (PushSubscription.toJSON():
# an https `endpoint` and the `keys` p256dh and auth, base64url), as a string.
MAX_PUSH_TOKEN_CHARS = 4096
MAX_WEBPUSH_ENDPOINT_CHARS = 1024
MAX_WEBPUSH_KEY_CHARS = 128
_APNS_TOKEN = re.compile(r"^[0-9A-Fa-f]{64,200}$")
_FCM_TOKEN = re.compile(r"^[A-Za-z0-9_:.-]{1,4096}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+=*$")


def webpush_subscription_problem(token: str) -> str | None:
    """What is wrong with a Web Push subscription (its JSON text), or None."""
    try:
        data = json.loads(token)
    except (ValueError, RecursionError):
        return "a webpush token is the subscription's JSON"
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        return "a webpush subscription has an endpoint and keys"
    endpoint = data.get("endpoint")
    if (
        not isinstance(endpoint, str)
        or not endpoint.startswith("https://")
        or len(endpoint) > MAX_WEBPUSH_ENDPOINT_CHARS
    ):
        return f"a webpush endpoint is an https URL of at most {MAX_WEBPUSH_ENDPOINT_CHARS} characters"
    for key in ("p256dh", "auth"):
        value = data["keys"].get(key)
        if not isinstance(value, str) or not _BASE64URL.match(value) or len(value) > MAX_WEBPUSH_KEY_CHARS:
            return f"keys.{key} is base64url of at most {MAX_WEBPUSH_KEY_CHARS} characters"
    return None


class RegisterPushFrame(ClientFrame):
    action: Literal["registerPush"]
    platform: Literal["apns", "fcm", "webpush"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PUSH_TOKEN_CHARS)]
    # Whether the user's notifications show the text (all its devices); absent: left as it is (on at first).
    previews: bool | None = None

    @model_validator(mode="after")
    def _token_of_its_platform(self) -> RegisterPushFrame:
        if self.platform == "apns" and not _APNS_TOKEN.match(self.token):
            raise ValueError("an apns token is 64-200 hexadecimal digits")
        if self.platform == "fcm" and not _FCM_TOKEN.match(self.token):
            raise ValueError("an fcm token is letters, digits and _:.- only")
        if self.platform == "webpush":
            problem = webpush_subscription_problem(self.token)
            if problem:
                raise ValueError(problem)
        return self


class UnregisterPushFrame(ClientFrame):
    action: Literal["unregisterPush"]


class BlockFrame(ClientFrame):
    action: Literal["block"]
    userId: UserId


class UnblockFrame(ClientFrame):
    action: Literal["unblock"]
    userId: UserId


class DeliveredFrame(ClientFrame):
    action: Literal["delivered"]
    conversationId: ConversationId
    seq: Seq


class ReadFrame(ClientFrame):
    action: Literal["read"]
    conversationId: ConversationId
    seq: Seq


# A `syncToken` as the server hands it out (chat/sync_token.py), or "" for a device that has none yet: any
# other text is a bad frame, refused before anything is read or stored.
def _a_sync_token(text: str) -> str:
    try:
        sync_token.parse(text)
    except ValueError:
        raise ValueError("must be the syncToken of a synced, or empty") from None
    return text


SyncSince = Annotated[
    str,
    StringConstraints(max_length=MAX_SYNC_TOKEN_CHARS),
    AfterValidator(_a_sync_token),
    Field(json_schema_extra={"pattern": sync_token.PATTERN}),
]


class SyncFrame(ClientFrame):
    action: Literal["sync"]
    cursors: dict[ConversationId, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # The `syncToken` of the last `synced` this device got ("" for its first): only what changed since is
    # listed. Left out: every conversation, as before tokens existed.
    since: SyncSince | None = None
    # conversationId -> the `lastChange` of the last `synced` that listed it: edits, deletions and
    # reactions after it come as `messageChanged`. A conversation left out gets none (its messages come
    # in their current state).
    changeCursors: dict[ConversationId, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)


class HistoryFrame(ClientFrame):
    action: Literal["history"]
    conversationId: ConversationId
    beforeSeq: Seq | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = HISTORY_DEFAULT_LIMIT


class CreateGroupFrame(ClientFrame):
    action: Literal["createGroup"]
    name: Annotated[DisplayText, StringConstraints(min_length=1, max_length=MAX_GROUP_NAME_CHARS)]
    members: list[UserId]


class AddMembersFrame(ClientFrame):
    action: Literal["addMembers"]
    conversationId: ConversationId
    userIds: Annotated[list[UserId], Field(min_length=1)]


class RemoveMembersFrame(ClientFrame):
    action: Literal["removeMembers"]
    conversationId: ConversationId
    userIds: Annotated[list[UserId], Field(min_length=1)]


class LeaveGroupFrame(ClientFrame):
    action: Literal["leaveGroup"]
    conversationId: ConversationId


class SubscribePresenceFrame(ClientFrame):
    action: Literal["subscribePresence"]
    userIds: list[UserId]


class TypingFrame(ClientFrame):
    action: Literal["typing"]
    conversationId: ConversationId
    state: Literal["start", "stop"]


class ReceiptsFrame(ClientFrame):
    action: Literal["receipts"]
    conversationId: ConversationId
    seq: Seq


class PingFrame(ClientFrame):
    action: Literal["ping"]


def frame_context(raw: str | None) -> dict[str, str]:
    """`action`, `requestId` and `clientMsgId` of a frame, where readable, for its error frame."""
    try:
        data = json.loads(raw or "")
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    context = {}
    for key in ("action", "requestId", "clientMsgId"):
        value = data.get(key)
        if isinstance(value, str) and 0 < len(value) <= 64 and _is_text(value):
            context[key] = value
    return context


def _is_text(value: str) -> bool:
    """Whether the string can go out as UTF-8 (a lone surrogate cannot)."""
    return not any("\ud800" <= char <= "\udfff" for char in value)


# ---- server frames -------------------------------------------------------------------------------


class ServerFrame(BaseModel):
    """A frame the server sends."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    # Fields omitted from the wire while None (everything else is sent, null included).
    _optional: frozenset[str] = frozenset({"requestId"})

    def wire(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if not (v is None and k in self._optional)}

    def json_text(self) -> str:
        return json.dumps(self.wire(), separators=(",", ":"), ensure_ascii=False)


class LeavesOutUnset(BaseModel):
    """A model whose `_optional` fields are left out (not null) while None wherever it is serialized,
    nested ones included (`history`, `messageChanged`, `synced`), which `ServerFrame.wire()` does not reach."""

    model_config = ConfigDict(defer_build=True)
    _optional: frozenset[str] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_optional(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation: the JSON Schema stays the model's own (scripts/generate_asyncapi.py marks
        # the `_optional` fields as not required).
        data = handler(self)
        for name in self._optional:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class MessageText(BaseModel):
    """A message's body as it goes out: as stored (validated when sent), "" once deleted."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    text: str


class AttachmentOut(LeavesOutUnset):
    """A message's attachment as members get it: what was sent, and a presigned GET `url` that works until
    `urlExpiresAt` (a later `sync` or `history` hands out a fresh one). `name`, `width` and `height` are
    left out when the sender gave none."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    _optional: frozenset[str] = frozenset({"name", "width", "height"})

    attachmentId: str
    contentType: str
    size: int
    name: str | None = None
    width: int | None = None
    height: int | None = None
    url: str
    urlExpiresAt: Timestamp


class MessageOut(ServerFrame, LeavesOutUnset):
    """A message in its current state (as of its leaving, for a former member). The additions are
    left out while they do not apply: `replyTo` (not a reply), `editedAt` (never edited), `deleted`
    (not deleted), `reactions` (none), `change` (never changed, or seen by a former member),
    `attachment` (none, or deleted with the message)."""

    _optional = frozenset({"replyTo", "editedAt", "deleted", "reactions", "change", "attachment"})

    type: Literal["message"] = "message"
    conversationId: str
    seq: int
    senderId: str
    senderDeviceId: str
    clientMsgId: str
    body: MessageText
    sentAt: Timestamp
    replyTo: int | None = None
    editedAt: Timestamp | None = None
    deleted: bool | None = None
    # userId -> the emoji that user reacted with.
    reactions: dict[str, str] | None = None
    # The conversation's change number of the message's last edit, deletion or reaction: a client keeps
    # the state with the highest one, whether it came as `message` or `messageChanged`.
    change: int | None = None
    attachment: AttachmentOut | None = None


class MessageChangedOut(ServerFrame):
    """An edit, deletion or reaction: the message in its new state, and the conversation's change number
    (what `sync` takes as its change cursor)."""

    type: Literal["messageChanged"] = "messageChanged"
    conversationId: str
    change: int
    kind: Literal["edited", "deleted", "reacted"]
    by: str
    at: Timestamp
    message: MessageOut
    requestId: str | None = None


class MutedOut(ServerFrame):
    """Whether the user has a conversation muted, and until when (`until` null while `muted`: until
    unmuted). The answer to `mute` and `unmute`, pushed to the user's other devices."""

    type: Literal["muted"] = "muted"
    conversationId: str
    muted: bool
    until: Timestamp | None
    requestId: str | None = None


class BlockedOut(ServerFrame):
    """Whether the user has another user blocked. The answer to `block` and `unblock`, pushed to the
    user's other devices."""

    type: Literal["blocked"] = "blocked"
    userId: str
    blocked: bool
    requestId: str | None = None


class SentOut(ServerFrame):
    type: Literal["sent"] = "sent"
    conversationId: str
    clientMsgId: str
    seq: int
    sentAt: Timestamp
    requestId: str | None = None


class ReceiptOut(ServerFrame):
    type: Literal["receipt"] = "receipt"
    conversationId: str
    userId: str
    kind: Literal["delivered", "read"]
    seq: int
    at: Timestamp


class PresenceOut(ServerFrame):
    type: Literal["presence"] = "presence"
    userId: str
    online: bool
    lastSeen: Timestamp | None


class TypingOut(ServerFrame):
    type: Literal["typing"] = "typing"
    conversationId: str
    userId: str
    state: Literal["start", "stop"]


class GroupOut(ServerFrame):
    type: Literal["group"] = "group"
    conversationId: str
    name: str
    members: list[str]
    admins: list[str]
    change: Literal["created", "membersAdded", "membersRemoved", "left"]
    by: str
    requestId: str | None = None


class ConversationReceipt(BaseModel):
    model_config = ConfigDict(defer_build=True)

    userId: str
    kind: Literal["delivered", "read"]
    seq: int
    at: Timestamp | None


class ConversationSummary(LeavesOutUnset):
    """One conversation in `synced`. `members` and `admins` are left out (not null) for a conversation the
    caller is no longer a member of (it left or was removed): who belongs to it since then is not shown."""

    model_config = ConfigDict(defer_build=True)

    _optional: frozenset[str] = frozenset({"members", "admins"})

    conversationId: str
    kind: Literal["direct", "group"]
    name: str | None
    members: list[str] | None = None
    # Not in the contract's list: an addition, so a device that was away knows who may add members.
    admins: list[str] | None = None
    lastSeq: int
    firstSeqSent: int | None
    receipts: list[ConversationReceipt]
    # The change cursor to send back in `changeCursors` (the last edit, deletion or reaction told).
    lastChange: int = 0
    # Messages after the caller's read watermark (none of them its own): the badge a new device shows.
    unread: int = 0
    # The caller muted it (until `mutedUntil`; null while muted: until unmuted).
    muted: bool = False
    mutedUntil: str | None = None


class SyncedOut(ServerFrame):
    _optional = frozenset({"requestId", "syncToken"})

    type: Literal["synced"] = "synced"
    conversations: list[ConversationSummary]
    complete: bool
    # Only in answer to a `sync` with `since`: what the device sends as `since` next time.
    syncToken: str | None = None
    # The users the caller blocked, all of them, in every reply.
    blocked: list[str] = []
    requestId: str | None = None


class HistoryOut(ServerFrame):
    type: Literal["history"] = "history"
    conversationId: str
    messages: list[MessageOut]
    hasMore: bool
    requestId: str | None = None


class MemberReceipt(BaseModel):
    model_config = ConfigDict(defer_build=True)

    userId: str
    deliveredAt: Timestamp | None
    readAt: Timestamp | None


class ReceiptsOut(ServerFrame):
    type: Literal["receipts"] = "receipts"
    conversationId: str
    seq: int
    members: list[MemberReceipt]
    requestId: str | None = None


class PushRegisteredOut(ServerFrame):
    """The calling device is sent push notifications on `platform` while it has no open socket."""

    _optional = frozenset({"requestId", "previews"})

    type: Literal["pushRegistered"] = "pushRegistered"
    platform: str
    # The user's previews setting, when the frame set it.
    previews: bool | None = None
    requestId: str | None = None


class PushUnregisteredOut(ServerFrame):
    """The calling device is sent no more push notifications (signed out)."""

    type: Literal["pushUnregistered"] = "pushUnregistered"
    requestId: str | None = None


class UploadReadyOut(ServerFrame):
    """The answer to `requestUpload`: POST the file to `url` as a multipart form holding every one of
    `fields` and then the file (as `file`, last), before `expiresAt`, of at most `maxSize` bytes. Then
    `send` with `attachment.attachmentId`."""

    type: Literal["uploadReady"] = "uploadReady"
    attachmentId: str
    url: str
    fields: dict[str, str]
    expiresAt: Timestamp
    maxSize: int
    requestId: str | None = None


class PongOut(ServerFrame):
    type: Literal["pong"] = "pong"
    requestId: str | None = None


class ErrorOut(ServerFrame):
    _optional = frozenset({"requestId", "action", "clientMsgId", "retryAfterMs"})

    type: Literal["error"] = "error"
    code: Literal[
        "bad_request",
        "unknown_action",
        "too_large",
        "not_found",
        "forbidden",
        "limit_exceeded",
        "rate_limited",
        "internal",
    ]
    message: str
    action: str | None = None
    requestId: str | None = None
    clientMsgId: str | None = None
    # `rate_limited` only, and always there: milliseconds until the same frame may succeed.
    retryAfterMs: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _retry_after_with_rate_limited(self) -> ErrorOut:
        if (self.retryAfterMs is not None) != (self.code == "rate_limited"):
            raise ValueError("retryAfterMs comes with rate_limited, and only with it")
        return self


SERVER_FRAMES: tuple[type[ServerFrame], ...] = (
    MessageOut,
    MessageChangedOut,
    MutedOut,
    BlockedOut,
    SentOut,
    ReceiptOut,
    PresenceOut,
    TypingOut,
    GroupOut,
    SyncedOut,
    HistoryOut,
    ReceiptsOut,
    PushRegisteredOut,
    PushUnregisteredOut,
    UploadReadyOut,
    PongOut,
    ErrorOut,
)
