"""Every client action, once: its frame model, the function that serves it, the domain callable that
does the work, the frames it answers with, what it is for, and its rate limit.

Everything else is derived from this table: the API Gateway routes (`chat.topology.ROUTES`), each
route function's handler (`chat.api.route_handler`), frame parsing (`parse_client_frame`), and the
AsyncAPI document (scripts/generate_asyncapi.py). Adding an action is one entry here, its frame
model in chat/protocol.py, and its domain callable (see docs/ARCHITECTURE.md).

This module imports no domain code and no pydantic: the CDK app and every function's settings read
it, and the functions that handle no frame (the authorizer, sign-up, $connect, $disconnect, the
sweep) never import pydantic. Each route function imports only the callables it serves
(`Action.load`); a frame model is imported, with chat/protocol.py, when an action's `frame` is
first asked for.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat.errors import BadRequest, TooLarge, UnknownAction
from chat.protocol_limits import MAX_FRAME_BYTES, MAX_GROUP_MEMBERS, MAX_PRESENCE_USERS
from chat.token_bucket import RateLimit

if TYPE_CHECKING:
    from pydantic import ValidationError

    from chat.protocol import ClientFrame


@dataclass(frozen=True)
class Action:
    name: str
    # Its frame model's name in chat/protocol.py (`frame` imports it).
    frame_model: str
    # The topology function (and so the API Gateway route integration) that serves it.
    function: str
    # "module:callable", called as callable(caller, frame) -> the direct reply frame or None.
    serves: str
    # Server frame types the calling connection gets back, besides `error`.
    replies: tuple[str, ...]
    summary: str
    reply_note: str
    # A per-user token bucket, applied by the route adapter (chat/api.py) before the domain callable
    # runs: a frame that finds it empty is `rate_limited` and does nothing. CHAT_RATE_LIMITS overrides
    # it (chat/token_bucket.py); the defaults are far above what a person does (docs/PROTOCOL.md).
    limit: RateLimit | None = None

    @property
    def frame(self) -> type[ClientFrame]:
        frame: type[ClientFrame] = getattr(importlib.import_module("chat.protocol"), self.frame_model)
        return frame

    def load(self) -> Callable[..., Any]:
        module, _, attribute = self.serves.partition(":")
        served: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
        return served


ACTIONS: tuple[Action, ...] = (
    Action(
        "send",
        "SendFrame",
        "send",
        "chat.messages:send",
        ("sent",),
        "Send a text message to a conversation (`conversationId`) or to a user for a direct chat (`to`); "
        "exactly one of the two.",
        "Answered with `sent` once the message is durably stored (the single check mark). Re-sending the same "
        "`clientMsgId` stores nothing new and answers `sent` with the original `seq` and `sentAt`.",
        # Nobody types 20 messages a second; 60 at once covers a paste or an outbox flushed on reconnect.
        limit=RateLimit(per_second=20, burst=60),
    ),
    Action(
        "requestUpload",
        "RequestUploadFrame",
        "attachments",
        "chat.attachments:request_upload",
        ("uploadReady",),
        "Ask where to upload one attachment (a photo or file) for a conversation the caller is a member of: "
        "`contentType` one of the allowed types, `size` at most 16 MB.",
        "Answered with `uploadReady`: a presigned S3 POST (`url`, `fields`) valid for 15 minutes. Once the file "
        "is uploaded, `send` carries `attachment.attachmentId`.",
        # Picking a few photos at once: each answer is one signature, no storage until the upload.
        limit=RateLimit(per_second=2, burst=30),
    ),
    Action(
        "edit",
        "EditFrame",
        "message_changes",
        "chat.message_changes:edit",
        ("messageChanged",),
        "Change the text of one's own message, within 15 minutes of its `sentAt` (at most 10 times).",
        "Answered with `messageChanged` (kind `edited`), which every member's other devices also receive.",
        # Fixing typos; each frame is pushed to every member.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "delete",
        "DeleteFrame",
        "message_changes",
        "chat.message_changes:delete",
        ("messageChanged",),
        "Delete one's own message for everyone, within 48 hours of its `sentAt`: its text is gone from storage.",
        "Answered with `messageChanged` (kind `deleted`), which every member's other devices also receive.",
        # Taking back a few messages; each frame is pushed to every member.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "react",
        "ReactFrame",
        "message_changes",
        "chat.message_changes:react",
        ("messageChanged",),
        'Set the caller\'s one reaction to a message (`emoji`), replacing any earlier one; `""` removes it.',
        "Answered with `messageChanged` (kind `reacted`), which every member's other devices also receive.",
        # Tapping reactions on a screenful of messages; each frame is pushed to every member.
        limit=RateLimit(per_second=2, burst=30),
    ),
    Action(
        "mute",
        "MuteFrame",
        "preferences",
        "chat.preferences:mute",
        ("muted",),
        "Mute a conversation for the user (all its devices) until `until` (an ISO 8601 time), or until "
        "`unmute` when `until` is absent or null.",
        "Answered with `muted`, which the user's other devices also receive; `synced` carries it too.",
        # A setting changed by hand; each frame is pushed to the user's devices.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "unmute",
        "UnmuteFrame",
        "preferences",
        "chat.preferences:unmute",
        ("muted",),
        "Unmute a conversation for the user (all its devices).",
        "Answered with `muted` (`muted: false`), which the user's other devices also receive.",
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "block",
        "BlockFrame",
        "preferences",
        "chat.blocks:block",
        ("blocked",),
        "Block a user for all of the caller's devices: neither can send in their direct chat nor start one "
        "(`forbidden`). Groups are unaffected. At most 1,000 blocked users (`limit_exceeded`).",
        "Answered with `blocked`, which the user's other devices also receive.",
        # A setting changed by hand; each frame is pushed to the user's devices.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "unblock",
        "UnblockFrame",
        "preferences",
        "chat.blocks:unblock",
        ("blocked",),
        "Unblock a user for all of the caller's devices.",
        "Answered with `blocked` (`blocked: false`), which the user's other devices also receive.",
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "registerPush",
        "RegisterPushFrame",
        "preferences",
        "chat.push_tokens:register_push",
        ("pushRegistered",),
        "Have the calling device sent push notifications (`platform` apns, fcm or webpush, its `token`) while it "
        "has no open socket, replacing any token it had; `previews` (optional) sets whether the user's "
        "notifications show the text.",
        "Answered with `pushRegistered`.",
        # Once per app start or token refresh.
        limit=RateLimit(per_second=1, burst=10),
    ),
    Action(
        "unregisterPush",
        "UnregisterPushFrame",
        "preferences",
        "chat.push_tokens:unregister_push",
        ("pushUnregistered",),
        "Stop push notifications to the calling device (signing out).",
        "Answered with `pushUnregistered`, also when it had no token.",
        limit=RateLimit(per_second=1, burst=10),
    ),
    Action(
        "delivered",
        "DeliveredFrame",
        "receipts",
        "chat.receipts:acknowledge",
        (),
        "Move the caller's delivered watermark: every message up to `seq` reached one of the user's devices.",
        "No reply on success.",
    ),
    Action(
        "read",
        "ReadFrame",
        "receipts",
        "chat.receipts:acknowledge",
        (),
        "Move the caller's read watermark: the user has seen every message up to `seq` (implies delivered).",
        "No reply on success.",
    ),
    Action(
        "receipts",
        "ReceiptsFrame",
        "receipts",
        "chat.receipts:message_info",
        ("receipts",),
        "Ask per-member delivered/read detail for one message (message info).",
        "Answered with `receipts`, one entry per member.",
    ),
    Action(
        "sync",
        "SyncFrame",
        "sync",
        "chat.sync:sync",
        ("message", "synced"),
        "Catch up after connecting: every message after the given cursors, and current state of every conversation.",
        "Answered with zero or more `message` frames, then `synced`. Call again while `synced.complete` is false.",
        # Once per connection, then once per page (200 messages) while catching up, one after the other:
        # 30 pages (6000 messages) before any wait. A client syncing in a loop costs one Query per
        # conversation each time; 5 a second caps that.
        limit=RateLimit(per_second=5, burst=30),
    ),
    Action(
        "history",
        "HistoryFrame",
        "sync",
        "chat.sync:history",
        ("history",),
        "Page backwards through a conversation's messages, before `beforeSeq` (default: the newest).",
        "Answered with `history`: the page in ascending `seq` order.",
    ),
    Action(
        "createGroup",
        "CreateGroupFrame",
        "groups",
        "chat.groups:create_group",
        ("group",),
        f"Create a group; the caller is added as its first admin. At most {MAX_GROUP_MEMBERS} members in all "
        "(more: `limit_exceeded`).",
        "Answered with `group` (change `created`), which every member also receives.",
        # Up to 500 members told at once: 10 groups in a row, then one every 10 s (6 a minute).
        limit=RateLimit(per_second=0.1, burst=10),
    ),
    Action(
        "addMembers",
        "AddMembersFrame",
        "groups",
        "chat.groups:add_members",
        ("group",),
        f"Add members to a group (admins only), up to {MAX_GROUP_MEMBERS} members in all (more: `limit_exceeded`).",
        "Answered with `group` (change `membersAdded`), which every member also receives.",
        # An admin adding people one click at a time; each frame is pushed to every member.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "removeMembers",
        "RemoveMembersFrame",
        "groups",
        "chat.groups:remove_members",
        ("group",),
        "Remove members from a group (admins only).",
        "Answered with `group` (change `membersRemoved`), which every member and those removed also receive.",
    ),
    Action(
        "leaveGroup",
        "LeaveGroupFrame",
        "groups",
        "chat.groups:leave_group",
        ("group",),
        "Leave a group.",
        "Answered with `group` (change `left`), which every member also receives.",
    ),
    Action(
        "subscribePresence",
        "SubscribePresenceFrame",
        "presence",
        "chat.presence:subscribe",
        ("presence",),
        f"Watch the presence of at most {MAX_PRESENCE_USERS} users (more: `limit_exceeded`) who share a conversation "
        "with the caller (others: `forbidden`); replaces the previous set.",
        "Answered with one `presence` per user, then a `presence` on every change for as long as the connection lives.",
        # Once per connection and when the contacts shown change; each frame checks up to 100 users.
        limit=RateLimit(per_second=1, burst=20),
    ),
    Action(
        "typing",
        "TypingFrame",
        "typing",
        "chat.typing_indicators:typing",
        (),
        "Tell the other members that the user started or stopped typing (never stored, rate limited).",
        "No reply on success; the other members' devices receive `typing`.",
    ),
    Action(
        "ping",
        "PingFrame",
        "ping",
        "chat.sessions:pong",
        ("pong",),
        "Keep the connection alive: send at least every 5 minutes (idle connections close after 10).",
        "Answered with `pong`.",
    ),
)

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}
# The limit each action declares (None: none).
DECLARED_LIMITS: dict[str, RateLimit | None] = {action.name: action.limit for action in ACTIONS}


def frame_models() -> dict[str, type[ClientFrame]]:
    """action -> its frame model (imports chat/protocol.py)."""
    return {action.name: action.frame for action in ACTIONS}


def served_by(function: str) -> dict[str, Callable[..., Any]]:
    """The actions a route function serves, with their domain callables (imported now)."""
    return {action.name: action.load() for action in ACTIONS if action.function == function}


# ---- parsing ----------------------------------------------------------------------------------------


def parse_client_frame(raw: str | None) -> ClientFrame:
    """Parses one client frame or raises the protocol error it deserves."""
    raw = raw or ""
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: no text frame (UTF-8) can carry one
        raise BadRequest("frame is not UTF-8 text") from None
    if size > MAX_FRAME_BYTES:
        raise TooLarge(f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise BadRequest("frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("frame must be a JSON object")
    action = data.get("action")
    if not isinstance(action, str):
        raise BadRequest("frame has no action")
    if action not in BY_NAME:
        raise UnknownAction(f"unknown action {action!r}")
    if holds_lone_surrogate(data):
        raise BadRequest("frame holds a lone surrogate (an escape in \\ud800-\\udfff not in a pair): not text")
    # The action's own model, not a union of every frame: a function builds only the models of the
    # frames it is sent (chat/protocol.py defers building them to their first use).
    model = BY_NAME[action].frame
    from pydantic import ValidationError  # imported with the model: pydantic stays out of the registry

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from None


def holds_lone_surrogate(data: Any) -> bool:
    """Whether a decoded JSON value holds a string with a lone surrogate anywhere (keys included).

    JSON escapes can spell one ("\\ud800"), Python decodes it, and it would fail later, when stored
    or sent back as UTF-8. Walked without recursion: the nesting depth is the client's to choose.
    """
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if any("\ud800" <= char <= "\udfff" for char in value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "frame"
    if first["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if first["type"] == "missing":
        return f"missing field {where!r}"
    return f"{where}: {first['msg']}"
