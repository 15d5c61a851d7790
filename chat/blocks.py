"""Blocking: a user blocks another, for all of its devices.

The block list is a string set on the blocker's Users item (at most MAX_BLOCKED users). When the two
users have a direct conversation, both its member rows are marked too (`blockedBy`): the send path reads
the sender's member row anyway, so a send in an existing direct chat costs no extra read. Starting a new
direct chat reads the block lists of both users (two GetItems, once per pair). Groups are unaffected.
The answer, `blocked`, is pushed to the blocker's other devices.

A block also hides each user's presence from the other (chat/presence.py: either way, in groups too,
since presence belongs to the user, not to a conversation) and typing in their direct chat
(chat/typing_indicators.py). Groups are otherwise unaffected: messages and typing there go on.
"""

from __future__ import annotations

from chat import presence, push
from chat.domain import Caller, Member
from chat.errors import BadRequest, Forbidden, LimitExceeded, NotFound
from chat.protocol import BlockedOut, BlockFrame, UnblockFrame
from chat.store import conversations, users
from chat.store import members as member_store

# The whole list rides in every `synced` (chat/sync.py), which must stay one WebSocket message.
MAX_BLOCKED = 200
# Refusals in a direct chat where one user blocked the other.
CANNOT_MESSAGE = "you cannot message this user"
UNBLOCK_TO_MESSAGE = "unblock this user to message them"


def refuse_if_blocked(member: Member) -> None:
    """`forbidden` when the direct chat of this member row has a block either way (the row carries it)."""
    if member.blocked_by:
        raise Forbidden(UNBLOCK_TO_MESSAGE if member.user_id in member.blocked_by else CANNOT_MESSAGE)


def block(caller: Caller, frame: BlockFrame) -> BlockedOut:
    return _store(caller, frame.userId, True)


def unblock(caller: Caller, frame: UnblockFrame) -> BlockedOut:
    return _store(caller, frame.userId, False)


def _store(caller: Caller, other: str, blocked: bool) -> BlockedOut:
    if other == caller.user_id:
        raise BadRequest("you cannot block yourself")
    if not users.user_exists(other):
        raise NotFound(f"no user {other!r}")
    if not users.set_blocked(caller.user_id, other, blocked, MAX_BLOCKED):
        raise LimitExceeded(f"you can block at most {MAX_BLOCKED} users")
    conversation_id = conversations.find_direct(caller.user_id, other)
    if conversation_id is not None:
        member_store.set_blocked_by(conversation_id, (caller.user_id, other), caller.user_id, blocked)
    presence.block_changed(caller.user_id, other)
    answer = BlockedOut(userId=other, blocked=blocked)
    push.push_to_users([caller.user_id], answer.json_text(), exclude_connection=caller.connection_id)
    return answer
