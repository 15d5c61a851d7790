"""Edit, delete for everyone, react: a stored message changes, and every member's devices hear of it.

Each change takes the conversation's next change number (1, 2, 3, ...) in the transaction that stores
the message's new state (chat/store/messages.py `store_change`), so changes are numbered without gaps
in the order they were stored. The new state goes to every device of every member who can see the
message as `messageChanged`; a device that missed it gets it from `sync`, which sends the changes after
the device's change cursor (chat/sync.py). Like a group change, it is stored and pushed by this route,
not a stream: so it is logged ahead, before it is stored (chat/change_log.py `log_ahead`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from chat import clock
from chat.access import membership
from chat.attachments import discard
from chat.change_log import log_ahead
from chat.domain import Attachment, Caller, ChangeKind, Member, Message, MessageChange, PriorText, Reaction
from chat.errors import BadRequest, Forbidden, Internal, LimitExceeded
from chat.fanout import message_frame
from chat.protocol import MAX_EDITS, DeleteFrame, EditFrame, MessageChangedOut, ReactFrame
from chat.push import push_to_users
from chat.retry import retrying
from chat.store import members as member_store
from chat.store import messages as message_store
from chat.store.errors import NotAMember, StoreConflict

EDIT_WINDOW_S = 15 * 60
DELETE_WINDOW_S = 48 * 3600
# A change is stored only while the conversation's lastChange is as read: another change meanwhile makes
# it read the message again and decide again.
CHANGE_ATTEMPTS = 5

# What a change makes of the message (None: it is that already, nothing to store), given the time.
Decide = Callable[[Message, str], Message | None]


def edit(caller: Caller, frame: EditFrame) -> MessageChangedOut:
    def edited(message: Message, at: str) -> Message | None:
        _require_own(caller, message, "edit")
        if message.deleted:
            raise BadRequest("a deleted message cannot be edited")
        if _older_than(message, EDIT_WINDOW_S):
            raise Forbidden("a message can be edited for 15 minutes after it was sent")
        if frame.body.text == message.text:
            return None
        if len(message.prior_texts) >= MAX_EDITS:
            raise LimitExceeded(f"a message can be edited at most {MAX_EDITS} times")
        # The replaced text is kept for members who left while it was shown (Message.as_seen_by).
        prior = (*message.prior_texts, PriorText(message.text, at))
        return replace(message, text=frame.body.text, edited_at=at, prior_texts=prior)

    return _change(caller, frame.conversationId, frame.seq, "edited", edited, frame.requestId)


def delete(caller: Caller, frame: DeleteFrame) -> MessageChangedOut:
    # The attachment the stored deletion dropped (the last attempt's: a retry decides again).
    dropped: list[Attachment] = []

    def deleted(message: Message, at: str) -> Message | None:
        dropped.clear()
        _require_own(caller, message, "delete")
        if message.deleted:
            return None
        if _older_than(message, DELETE_WINDOW_S):
            raise Forbidden("a message can be deleted for everyone for 48 hours after it was sent")
        if message.attachment is not None:
            dropped.append(message.attachment)
        # Gone from storage, not hidden: the text, every text an edit replaced, the reactions, the attachment.
        return replace(message, text="", edited_at=None, deleted_at=at, prior_texts=(), reactions=(), attachment=None)

    changed = _change(caller, frame.conversationId, frame.seq, "deleted", deleted, frame.requestId)
    for attachment in dropped:  # after the deletion is stored: its metadata, and so its URLs, are gone
        discard(frame.conversationId, attachment)
    return changed


def react(caller: Caller, frame: ReactFrame) -> MessageChangedOut:
    def reacted(message: Message, at: str) -> Message | None:
        if message.deleted:
            raise BadRequest("a deleted message cannot be reacted to")
        mine = next((r for r in message.reactions if r.user_id == caller.user_id), None)
        if (mine.emoji if mine else "") == frame.emoji:
            return None
        others = tuple(r for r in message.reactions if r.user_id != caller.user_id)
        # One reaction per user: a new emoji replaces the old one, "" takes it away.
        mine_now = (Reaction(caller.user_id, frame.emoji, at),) if frame.emoji else ()
        return replace(message, reactions=tuple(sorted(others + mine_now, key=lambda r: r.user_id)))

    return _change(caller, frame.conversationId, frame.seq, "reacted", reacted, frame.requestId)


def _require_own(caller: Caller, message: Message, what: str) -> None:
    if message.sender_id != caller.user_id:
        raise Forbidden(f"only its sender can {what} a message")


def _older_than(message: Message, seconds: int) -> bool:
    return message.sent_at < clock.iso(time.time() - seconds)


def visible_message(me: Member, last_seq: int, conversation_id: str, seq: int) -> Message:
    """The message at `seq`, if the member can see it (bad_request otherwise, like a receipt beyond the last)."""
    message = None
    if seq <= me.visible_top(last_seq) and me.can_see(seq):
        message = message_store.get_message(conversation_id, seq)
    if message is None:
        raise BadRequest(f"no message {seq} that you can see in this conversation")
    return message


def _change(
    caller: Caller, conversation_id: str, seq: int, kind: ChangeKind, decide: Decide, request_id: str | None
) -> MessageChangedOut:
    def attempt() -> tuple[Message, MessageChange | None]:
        conversation, me = membership(caller.user_id, conversation_id)
        message = visible_message(me, conversation.last_seq, conversation_id, seq)
        at = clock.now_iso()
        changed = decide(message, at)
        if changed is None:
            return message, None
        number = conversation.last_change + 1
        change = MessageChange(conversation_id, number, seq, kind, caller.user_id, at)
        told = [m for m in member_store.list_members(conversation_id, consistent=True) if m.active and m.can_see(seq)]
        # Logged before it is stored: nothing retries a route that stops between storing and pushing.
        log_ahead(conversation_id, [m.user_id for m in told], told)
        changed = replace(changed, last_change=number)
        try:
            message_store.store_change(changed, change, expected_last_change=conversation.last_change)
        except NotAMember:
            raise Forbidden("you are not a member of this conversation") from None
        return changed, change

    message, change = retrying(
        attempt,
        retry_on=StoreConflict,
        attempts=CHANGE_ATTEMPTS,
        gave_up=Internal("the conversation is changing too fast; please retry"),
    )
    if change is None:
        # Nothing to change (a retried frame): the message as it is, under its last change number.
        return _changed_frame(message, kind, caller.user_id, clock.now_iso(), request_id)
    frame = _changed_frame(message, kind, caller.user_id, change.at, request_id)
    # Read again after the store: who left meanwhile hears nothing more of the conversation.
    told = [m.user_id for m in member_store.active_members(conversation_id, consistent=True) if m.can_see(seq)]
    # The acting device has it as its direct reply.
    pushed = frame.model_copy(update={"requestId": None}).json_text()
    push_to_users(told, pushed, exclude_connection=caller.connection_id)
    return frame


def changed_frame(message: Message, change: MessageChange, viewer: Member) -> MessageChangedOut:
    """What `sync` sends a member for a message whose last change it was told of is `change`. A former
    member gets the message as of its leaving, under the last change it saw."""
    number = message.last_change if viewer.active else change.change
    return _changed_frame(message.as_seen_by(viewer), change.kind, change.by, change.at, None, number)


def _changed_frame(
    message: Message, kind: ChangeKind, by: str, at: str, request_id: str | None, number: int | None = None
) -> MessageChangedOut:
    return MessageChangedOut(
        conversationId=message.conversation_id,
        change=message.last_change if number is None else number,
        kind=kind,
        by=by,
        at=at,
        message=message_frame(message),
        requestId=request_id,
    )
