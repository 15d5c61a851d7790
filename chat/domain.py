"""Domain objects returned by the data-access layer (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ConversationKind = Literal["direct", "group"]
ReceiptKind = Literal["delivered", "read"]
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

    @property
    def active(self) -> bool:
        return self.left_seq is None

    def can_see(self, seq: int) -> bool:
        """Members see messages after they joined and, once gone, nothing newer than their leaving."""
        return seq > self.joined_seq and (self.left_seq is None or seq <= self.left_seq)


@dataclass(frozen=True)
class Receipt:
    conversation_id: str
    user_id: str
    kind: ReceiptKind
    seq: int
    at: str


@dataclass(frozen=True)
class SentMessage:
    conversation_id: str
    client_msg_id: str
    seq: int
    sent_at: str
