"""A user's own settings for a conversation, shared by all its devices: mute.

A mute is stored on the user's member row (so `sync` reads it with the row it reads anyway), logged in
the user's change log (a device syncing with a token lists the conversation) and pushed as `muted` to
the user's other devices. Push notifications (when they exist) skip a muted conversation.
"""

from __future__ import annotations

from chat import change_log, clock, push
from chat.access import membership
from chat.domain import MUTED_FOREVER, Caller, Member
from chat.errors import Forbidden
from chat.protocol import MutedOut, MuteFrame, UnmuteFrame
from chat.store import members as member_store


def mute(caller: Caller, frame: MuteFrame) -> MutedOut:
    membership(caller.user_id, frame.conversationId)
    until = MUTED_FOREVER if frame.until is None else frame.until
    # A time already past is no mute: stored as none, so a later read never needs to compare it.
    return _store(caller, frame.conversationId, until if until > clock.now_iso() else None)


def unmute(caller: Caller, frame: UnmuteFrame) -> MutedOut:
    membership(caller.user_id, frame.conversationId)
    return _store(caller, frame.conversationId, None)


def _store(caller: Caller, conversation_id: str, until: str | None) -> MutedOut:
    stored = member_store.set_muted(conversation_id, caller.user_id, until)
    if stored is None:
        raise Forbidden("you are not a member of this conversation")  # left since the check
    answer = muted_frame(stored)
    # Logged before it is pushed, as every change a device must hear of (chat/change_log.py).
    change_log.log_change(conversation_id, [stored])
    push.push_to_users([caller.user_id], answer.json_text(), exclude_connection=caller.connection_id)
    return answer


def muted_frame(member: Member) -> MutedOut:
    now = clock.now_iso()
    return MutedOut(conversationId=member.conversation_id, muted=member.muted(now), until=member.muted_until_shown(now))
