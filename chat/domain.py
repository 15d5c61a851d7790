"""Domain objects returned by the data-access layer (never ORM rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

ConversationKind = Literal["direct", "group"]
ReceiptKind = Literal["delivered", "read"]
RECEIPT_KINDS: tuple[ReceiptKind, ...] = ("delivered", "read")
# The user id of a group's all-members watermark.
ALL_MEMBERS = "*"


@dataclass(frozen=True)
class Caller:
    """Who sent a frame: always from the authorizer, never from the frame."""

    user_id: str
    device_id: str
    connection_id: str


@dataclass(frozen=True)
class Endpoint:
    """Where a frame can be posted: one connection of one user."""

    user_id: str
    connection_id: str


@dataclass(frozen=True)
class Connection(Endpoint):
    device_id: str
    connected_at: str
    expires_at: int
    # The end of its lease (epoch seconds): after it the connection no longer counts, whatever its socket
    # does, and the sweep closes it (chat/liveness.py). None for a record stored before leases existed.
    live_until: int | None = None
    # When the token it connected with expires (its lease never runs past that).
    token_expires_at: int | None = None

    def stopped_counting(self, removed_at_s: float) -> float:
        """When a removed connection stopped counting: its removal, or the end of its lease or TTL if earlier."""
        return min(removed_at_s, float(self.expires_at), float(self.live_until or self.expires_at))


@dataclass(frozen=True)
class Subscription:
    """A connection watching a user's presence."""

    watched_user_id: str
    connection_id: str
    subscriber_user_id: str
    expires_at: int


ChangeKind = Literal["edited", "deleted", "reacted"]


@dataclass(frozen=True)
class PriorText:
    """A text an edit replaced, and when: what a member who left before that edit still sees."""

    text: str
    until: str


@dataclass(frozen=True)
class Reaction:
    user_id: str
    emoji: str
    at: str


@dataclass(frozen=True)
class Attachment:
    """A photo or file a message carries: what its sender promised and the upload proved (chat/attachments.py).
    The object is at attachments/<conversationId>/<attachmentId>; URLs are made when it is handed out."""

    attachment_id: str
    content_type: str
    size: int
    name: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Message:
    conversation_id: str
    seq: int
    sender_id: str
    sender_device_id: str
    sender_connection_id: str
    client_msg_id: str
    text: str
    sent_at: str
    reply_to: int | None = None
    edited_at: str | None = None
    # Once deleted for everyone: the text, the texts edits replaced and the reactions are gone.
    deleted_at: str | None = None
    prior_texts: tuple[PriorText, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    # The conversation's change number of its last edit, deletion or reaction (0: none).
    last_change: int = 0
    # Dropped (and its object deleted) when the message is deleted for everyone.
    attachment: Attachment | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def as_seen_by(self, member: Member) -> Message:
        """The message as this member may see it: as it is for a member; for a former member, as it was
        when it left (the text then, the reactions made by then), except that a deletion takes the text
        away from everyone."""
        if member.active or self.deleted:
            return self
        left_at = member.left_at or ""
        text, edited_at = self.text, self.edited_at
        # prior_texts are oldest first: the first one replaced after the leaving is the text it saw.
        later = [prior for prior in self.prior_texts if prior.until > left_at]
        if later:
            text = later[0].text
            earlier = [prior.until for prior in self.prior_texts if prior.until <= left_at]
            edited_at = earlier[-1] if earlier else None
        reactions = tuple(r for r in self.reactions if r.at <= left_at)
        # Its change number would tell of changes after the leaving.
        return replace(self, text=text, edited_at=edited_at, reactions=reactions, last_change=0)


@dataclass(frozen=True)
class MessageChange:
    """One edit, deletion or reaction, numbered in its conversation (`change`: 1, 2, 3, ...)."""

    conversation_id: str
    change: int
    seq: int
    kind: ChangeKind
    by: str
    at: str


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    kind: ConversationKind
    name: str | None
    last_seq: int
    admins: tuple[str, ...] = ()
    # Group "all members" watermarks and who is holding them back.
    all_delivered: int = 0
    all_read: int = 0
    at_min_delivered: frozenset[str] = field(default_factory=frozenset)
    at_min_read: frozenset[str] = field(default_factory=frozenset)
    # Until when (epoch s) its sends go straight to the sequencer's queue (chat/messages.py).
    busy_until: int = 0
    # The number of its last edit, deletion or reaction (chat/message_changes.py).
    last_change: int = 0

    def minimum(self, kind: ReceiptKind) -> GroupMinimum:
        """The group's all-members watermark of one kind, as stored."""
        if kind == "delivered":
            return GroupMinimum(self.all_delivered, self.at_min_delivered)
        return GroupMinimum(self.all_read, self.at_min_read)


@dataclass(frozen=True)
class GroupMinimum:
    """A group's all-members watermark of one kind: the lowest over its active members, and who is at it."""

    seq: int
    holding: frozenset[str]


# Stored as a member's mutedUntil for "until unmuted": later than any time, so one comparison answers.
MUTED_FOREVER = "9999-12-31T23:59:59.999Z"


@dataclass(frozen=True)
class Member:
    conversation_id: str
    user_id: str
    joined_seq: int
    left_seq: int | None
    delivered_seq: int
    read_seq: int
    delivered_at: str | None
    read_at: str | None
    # Once gone: when it left, and the group's all-members ("*") watermarks as they were then (None for a
    # membership that ended before these were recorded). What a former member is told stops there.
    left_at: str | None = None
    all_delivered_at_leave: int | None = None
    all_read_at_leave: int | None = None
    # A change here was logged for the member and no sync has read the conversation for it since
    # (chat/change_log.py): later changes need not be logged again until one does.
    marked: bool = False
    # Notifications off for the user until then (an ISO time; MUTED_FOREVER: until unmuted); None: not muted.
    muted_until: str | None = None
    # In a direct conversation: which of its two users blocked the other (none may send while any did).
    blocked_by: frozenset[str] = frozenset()

    def muted(self, now: str) -> bool:
        return self.muted_until is not None and self.muted_until > now

    def muted_until_shown(self, now: str) -> str | None:
        """`until` on the wire: the time a mute ends, None when not muted or muted until unmuted."""
        return self.muted_until if self.muted(now) and self.muted_until != MUTED_FOREVER else None

    @property
    def active(self) -> bool:
        return self.left_seq is None

    def can_see(self, seq: int) -> bool:
        """Members see messages after they joined and, once gone, nothing newer than their leaving."""
        return seq > self.joined_seq and (self.left_seq is None or seq <= self.left_seq)

    def visible_top(self, last_seq: int) -> int:
        """The newest seq the member can see in a conversation at `last_seq` (see `can_see`)."""
        return last_seq if self.left_seq is None else min(last_seq, self.left_seq)

    def unread(self, last_seq: int) -> int:
        """How many messages it can see after its read watermark. None of them is its own: sending moves
        the sender's read watermark to the message it sent."""
        return max(0, self.visible_top(last_seq) - max(self.read_seq, self.joined_seq))

    def watermark(self, kind: ReceiptKind) -> Watermark:
        if kind == "delivered":
            return Watermark(self.user_id, kind, self.delivered_seq, self.delivered_at)
        return Watermark(self.user_id, kind, self.read_seq, self.read_at)

    def all_members_at_leave(self, kind: ReceiptKind) -> int | None:
        """The group's `kind` "*" watermark when this (former) member left, if that was recorded."""
        return self.all_delivered_at_leave if kind == "delivered" else self.all_read_at_leave

    def saw_by_then(self, at: str | None) -> str | None:
        """A time this member may be told of: any while it is a member; once gone, only one up to its leaving
        (a membership that ended before leaving times were recorded is told none)."""
        if at is None or self.active:
            return at
        return at if self.left_at is not None and at <= self.left_at else None


def active(members: Iterable[Member]) -> list[Member]:
    """The current members among these (not those who left or were removed)."""
    return [m for m in members if m.active]


@dataclass(frozen=True)
class Watermark:
    """How far one user's (or, userId "*", a whole group's) watermark of one kind has reached."""

    user_id: str
    kind: ReceiptKind
    seq: int
    at: str | None


@dataclass(frozen=True)
class Receipt:
    conversation_id: str
    user_id: str
    kind: ReceiptKind
    seq: int
    at: str


@dataclass(frozen=True)
class WatermarkMove:
    """A forward move the rules decided (chat/watermarks.py), for the store to write.

    `receipt` is logged (the Receipts stream pushes it); `raises` are the mover's watermarks set to its
    seq (none for a group's "*"); the connection that caused it hears no echo of it.
    """

    receipt: Receipt
    raises: tuple[ReceiptKind, ...] = ()
    origin_connection_id: str | None = None


@dataclass(frozen=True)
class SentMessage:
    conversation_id: str
    client_msg_id: str
    seq: int
    sent_at: str


PushPlatform = Literal["apns", "fcm", "webpush"]
PUSH_PLATFORMS: tuple[PushPlatform, ...] = ("apns", "fcm", "webpush")


@dataclass(frozen=True)
class PushToken:
    """Where one device of a user is sent push notifications while it has no open socket."""

    user_id: str
    device_id: str
    platform: PushPlatform
    token: str
    registered_at: str
    # The Amazon SNS platform endpoint made for the token, once one was.
    endpoint_arn: str | None = None


@dataclass(frozen=True)
class Notification:
    """One push notification to one device: who wrote in which conversation and, unless the user turned
    previews off, the start of the text."""

    device: PushToken
    conversation_id: str
    seq: int
    sender_id: str
    preview: str | None
