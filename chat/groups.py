"""Groups: create, add, remove, leave. Every change is pushed as `group` to everyone it concerns."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from chat import watermarks
from chat.access import membership, require_admin
from chat.change_log import log_ahead
from chat.clock import now_iso
from chat.domain import RECEIPT_KINDS, Caller, Conversation
from chat.errors import BadRequest, Internal, LimitExceeded, NotFound
from chat.protocol import (
    AddMembersFrame,
    CreateGroupFrame,
    GroupOut,
    LeaveGroupFrame,
    RemoveMembersFrame,
)
from chat.protocol_limits import MAX_GROUP_MEMBERS
from chat.push import push_to_users
from chat.receipts import recompute_group_minimum
from chat.retry import retrying
from chat.store import conversations, users
from chat.store import groups as group_store
from chat.store import members as member_store
from chat.store.errors import StoreConflict

T = TypeVar("T")

# A change is stored only while lastSeq (and, adding, the all-members minimums) are as read: a message
# or an acknowledgement meanwhile makes it read the group again and decide again.
GROUP_CHANGE_ATTEMPTS = 5


def _changing(change: Callable[[], T]) -> T:
    return retrying(
        change,
        retry_on=StoreConflict,
        attempts=GROUP_CHANGE_ATTEMPTS,
        gave_up=Internal("the group is changing too fast; please retry"),
    )


def _unique(user_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(user_ids))


def _require_known(user_ids: list[str]) -> None:
    unknown = sorted(set(user_ids) - users.existing_users(user_ids)) if user_ids else []
    if unknown:
        raise NotFound(f"no such user: {', '.join(unknown[:5])}")


def _announce(conversation_id: str, change: str, by: Caller, also: Iterable[str] = ()) -> GroupOut:
    """Pushes the group's current state to its members (and to `also`, e.g. who just left)."""
    conversation = conversations.get_conversation(conversation_id)
    if conversation is None:
        raise Internal("the group vanished")
    # Logged already, before it was stored (`log_ahead`).
    members = [m.user_id for m in member_store.active_members(conversation_id, consistent=True)]
    frame = GroupOut(
        conversationId=conversation_id,
        name=conversation.name or "",
        members=members,
        admins=list(conversation.admins),
        change=change,  # type: ignore[arg-type]
        by=by.user_id,
    )
    # The acting device gets the frame as its direct reply.
    push_to_users([*members, *also], frame.json_text(), exclude_connection=by.connection_id)
    return frame


def create_group(caller: Caller, frame: CreateGroupFrame) -> GroupOut:
    member_ids = _unique([caller.user_id, *frame.members])
    if len(member_ids) > MAX_GROUP_MEMBERS:
        raise LimitExceeded(f"a group has at most {MAX_GROUP_MEMBERS} members")
    _require_known([u for u in member_ids if u != caller.user_id])
    conversation_id = "g_" + uuid.uuid4().hex
    logged_at = log_ahead(conversation_id, member_ids, rows=())
    group_store.create_group(conversation_id, frame.name, caller.user_id, member_ids, now_iso(), logged_at)
    return _announce(conversation_id, "created", caller)


def add_members(caller: Caller, frame: AddMembersFrame) -> GroupOut:
    def attempt() -> None:
        conversation, _member = membership(caller.user_id, frame.conversationId)
        require_admin(conversation, caller.user_id)
        members = member_store.active_members(conversation.conversation_id, consistent=True)
        active = {m.user_id for m in members}
        newcomers = [u for u in _unique(frame.userIds) if u not in active]
        if len(active) + len(newcomers) > MAX_GROUP_MEMBERS:
            raise LimitExceeded(f"a group has at most {MAX_GROUP_MEMBERS} members")
        _require_known(newcomers)
        if newcomers:
            logged_at = log_ahead(conversation.conversation_id, [*active, *newcomers], rows=members)
            holding = watermarks.minimums_at_last_seq(conversation)
            group_store.add_members(conversation, newcomers, MAX_GROUP_MEMBERS, now_iso(), holding, logged_at)

    _changing(attempt)
    return _announce(frame.conversationId, "membersAdded", caller)


def remove_members(caller: Caller, frame: RemoveMembersFrame) -> GroupOut:
    def attempt() -> list[str]:
        conversation, _member = membership(caller.user_id, frame.conversationId)
        require_admin(conversation, caller.user_id)
        return _remove(conversation, _unique(frame.userIds))

    gone = _changing(attempt)
    return _announce(frame.conversationId, "membersRemoved", caller, also=gone)


def leave_group(caller: Caller, frame: LeaveGroupFrame) -> GroupOut:
    def attempt() -> list[str]:
        conversation, _member = membership(caller.user_id, frame.conversationId)
        if conversation.kind != "group":
            raise BadRequest("only groups can be left")
        return _remove(conversation, [caller.user_id])

    gone = _changing(attempt)
    return _announce(frame.conversationId, "left", caller, also=gone)


def _remove(conversation: Conversation, user_ids: list[str]) -> list[str]:
    """Removes those of `user_ids` who are members; returns them."""
    members = member_store.active_members(conversation.conversation_id, consistent=True)
    leaving = [m.user_id for m in members if m.user_id in set(user_ids)]
    if not leaving:
        return []
    staying = [m for m in members if m.user_id not in set(leaving)]
    admins = [a for a in conversation.admins if a not in set(leaving)]
    if not admins and staying:
        # A group is never left without an admin: the longest-standing member takes over.
        admins = [min(staying, key=lambda m: (m.joined_seq, m.user_id)).user_id]
    now = now_iso()
    # The members before the change: those who stay, and those leaving.
    log_ahead(conversation.conversation_id, [m.user_id for m in members], rows=members)
    group_store.remove_members(conversation, leaving, admins, now)
    # Those who left may have been holding the all-members watermark back.
    for kind in RECEIPT_KINDS:
        recompute_group_minimum(conversation.conversation_id, kind, now)
    return leaving
