"""sync and history: what a device missed, and older messages on demand.

Every frame stays under API Gateway's 32 KB frame limit: `message` frames go out one by one through
@connections (in seq order, on the caller's own connection), the `synced` and `history` replies are
cut to fit, and `complete: false` / `hasMore: true` tell the client to ask again.
"""

from __future__ import annotations

import json
from dataclasses import replace

from chat import change_log, clock, push, sync_token, watermarks
from chat.access import membership
from chat.domain import Caller, Conversation, Endpoint, Member, Message, MessageChange, active
from chat.errors import Internal
from chat.fanout import message_frame
from chat.message_changes import changed_frame
from chat.protocol import (
    ConversationReceipt,
    ConversationSummary,
    HistoryFrame,
    HistoryOut,
    SyncedOut,
    SyncFrame,
)
from chat.store import changes as change_store
from chat.store import conversations as conversation_store
from chat.store import members as member_store
from chat.store import message_changes as message_change_store
from chat.store import messages as message_store
from chat.store import users

NEWEST_FOR_UNKNOWN = 50
MAX_MESSAGES_PER_SYNC = 200
MAX_REPLY_BYTES = 30 * 1024
# A listing of every conversation adds those logged this recently to what the byUser index shows (an
# index lags its table), and ranks them first.
LISTING_WINDOW_MS = 24 * 3600 * 1000


def _receipts(conversation: Conversation, members: list[Member], me: Member) -> list[ConversationReceipt]:
    return [
        ConversationReceipt(userId=w.user_id, kind=w.kind, seq=w.seq, at=w.at)
        for w in watermarks.watermarks_told(conversation, members, me)
    ]


def summary_of(
    conversation: Conversation, me: Member, members: list[Member], first_seq_sent: int | None, last_change: int = 0
) -> ConversationSummary:
    """What `synced` says of one conversation. A former member sees it as of its leaving: lastSeq and the
    watermarks stop there, and who is in it now (members, admins) is left out."""
    return ConversationSummary(
        conversationId=conversation.conversation_id,
        kind=conversation.kind,
        name=conversation.name,
        members=[m.user_id for m in active(members)] if me.active else None,
        admins=list(conversation.admins) if me.active else None,
        lastSeq=me.visible_top(conversation.last_seq),
        firstSeqSent=first_seq_sent,
        receipts=_receipts(conversation, members, me),
        lastChange=last_change,
        unread=me.unread(conversation.last_seq),
        muted=me.active and me.muted(clock.now_iso()),
        mutedUntil=me.muted_until_shown(clock.now_iso()) if me.active else None,
    )


class _Reply:
    """One `synced` being filled: each conversation's messages are posted as it is added, within the
    reply's message budget and size."""

    def __init__(
        self, caller: Caller, cursors: dict[str, int], change_cursors: dict[str, int], reserved: int = 0
    ) -> None:
        self.caller = caller
        self.cursors = cursors
        self.change_cursors = change_cursors
        self.summaries: list[ConversationSummary] = []
        self.budget = MAX_MESSAGES_PER_SYNC
        self.size = 200 + reserved
        self.gone = False  # the socket closed meanwhile

    def add(self, conversation: Conversation, me: Member, members: list[Member]) -> bool | None:
        """Posts the conversation's messages after the caller's cursor and adds its summary: True when
        all of them went, False when only the first ones fit the budget, None when the summary does not
        fit the reply (nothing posted) or the socket is gone."""
        top = me.visible_top(conversation.last_seq)
        if conversation.conversation_id in self.cursors:
            after = max(self.cursors[conversation.conversation_id], me.joined_seq)
        else:
            after = max(top - NEWEST_FOR_UNKNOWN, me.joined_seq)
        wanted = max(0, top - after)
        take = min(wanted, self.budget)
        messages = (
            message_store.messages_after(conversation.conversation_id, after, up_to=top, limit=take) if take else []
        )
        changed, last_change, changes_complete = self._changes(
            conversation, me, held_up_to=after, all_sent=take == wanted, budget=self.budget - len(messages)
        )
        summary = summary_of(conversation, me, members, messages[0].seq if messages else None, last_change)
        size = len(summary.model_dump_json().encode("utf-8"))
        if self.size + size > MAX_REPLY_BYTES and self.summaries:
            return None
        # One connection, one frame at a time: the device sees the messages in seq order, then the changes
        # to messages it held in change order.
        frames = [message_frame(m, me).json_text().encode("utf-8") for m in messages]
        frames += [changed_frame(m, change, me).json_text().encode("utf-8") for m, change in changed]
        posted = push.post_in_order(Endpoint(self.caller.user_id, self.caller.connection_id), frames)
        if posted.gone:
            self.gone = True
            return None
        if not posted.ok:
            raise Internal("messages could not be delivered; please sync again")
        self.budget -= len(frames)
        self.summaries.append(summary)
        self.size += size
        return take == wanted and changes_complete

    def _changes(
        self, conversation: Conversation, me: Member, held_up_to: int, all_sent: bool, budget: int
    ) -> tuple[list[tuple[Message, MessageChange]], int, bool]:
        """The messages the device holds (seq <= held_up_to) that changed after its change cursor, each in its
        current state with its last change, within what is left of the budget; the change cursor to hand
        back; and whether every change was sent. Changes made after a member left are never sent to it."""
        cursor = self.change_cursors.get(conversation.conversation_id)
        if cursor is None:
            # Its messages come in their current state: from now on, the changes after the last one.
            return [], conversation.last_change if me.active else 0, True
        if not all_sent or conversation.last_change <= cursor:
            return [], min(cursor, conversation.last_change), True
        changes = message_change_store.changes_between(conversation.conversation_id, cursor, conversation.last_change)
        if not me.active:
            changes = [c for c in changes if me.left_at is not None and c.at <= me.left_at]
        latest: dict[int, MessageChange] = {}
        told_up_to = changes[-1].change if changes else (conversation.last_change if me.active else cursor)
        for change in changes:
            if not (me.can_see(change.seq) and change.seq <= held_up_to):
                continue
            if change.seq not in latest and len(latest) == budget:
                # The budget is spent: the next sync starts at this change.
                told_up_to = change.change - 1
                break
            latest.pop(change.seq, None)
            latest[change.seq] = change
        else:
            told_up_to = max(told_up_to, cursor)
        current = {m.seq: m for m in message_store.messages_at(conversation.conversation_id, latest)}
        changed = [(current[seq], change) for seq, change in latest.items() if seq in current]
        return changed, told_up_to, told_up_to >= (changes[-1].change if changes else cursor)


def sync(caller: Caller, frame: SyncFrame) -> SyncedOut:
    # Every reply carries the whole block list (at most chat/blocks.MAX_BLOCKED users): a device that was
    # away learns of a block or an unblock as it learns of messages. Its bytes count against the reply.
    blocked = sorted(users.blocked_by_user(caller.user_id) or ())
    reply = _Reply(caller, frame.cursors, frame.changeCursors, reserved=len(json.dumps(blocked)))
    if frame.since is None:
        out = _sync_everything(caller, reply)
    else:
        # The frame's `since` was checked against the same rules (chat/protocol.py).
        out = _sync_round(caller, frame, sync_token.parse(frame.since), reply)
    return out.model_copy(update={"blocked": blocked})


# ---- without a token: every conversation, every time ------------------------------------------------


def _sync_everything(caller: Caller, reply: _Reply) -> SyncedOut:
    mine = _memberships(caller.user_id)
    conversations = conversation_store.get_conversations(mine) if mine else {}
    complete = True

    # Conversations with the newest activity the caller may see first, so a cut-off reply carries what
    # matters most (a group it left is ranked by its leaving, or its order would tell of later messages).
    def newest_visible(conversation: Conversation) -> int:
        return mine[conversation.conversation_id].visible_top(conversation.last_seq)

    for conversation in sorted(conversations.values(), key=newest_visible, reverse=True):
        members = member_store.list_members(conversation.conversation_id)
        # The caller's row as the table has it: the byUser index may not show a leaving yet.
        me = next((m for m in members if m.user_id == caller.user_id), mine[conversation.conversation_id])
        added = reply.add(conversation, me, members)
        if added is None:
            complete = False
            break
        complete = complete and added
    return SyncedOut(conversations=reply.summaries, complete=complete and not reply.gone)


def _memberships(user_id: str) -> dict[str, Member]:
    """Every conversation the user is or was in: by the byUser index, and by the change log for one joined
    too recently for the index to show (each join is logged at once)."""
    mine = {m.conversation_id: m for m in member_store.memberships_of(user_id)}
    recent = change_store.logged_since(user_id, clock.epoch_ms() - LISTING_WINDOW_MS)
    for conversation_id in recent.keys() - mine.keys():
        member = member_store.get_member(conversation_id, user_id)
        if member is not None:
            mine[conversation_id] = member
    return mine


# ---- with a token: what changed since, in rounds -----------------------------------------------------


def _sync_round(caller: Caller, frame: SyncFrame, token: sync_token.SyncToken, reply: _Reply) -> SyncedOut:
    """One page of a round (chat/sync_token.py): the conversations logged for the caller since the token
    (every one, for a device's first), newest change first, each read after its mark is cleared
    (chat/change_log.py says why nothing is missed)."""
    now = clock.epoch_ms()
    if token.since_ms is not None and token.since_ms - change_log.MARGIN_MS < now - change_log.CHANGES_KEPT_S * 1000:
        token = sync_token.SyncToken()  # what changed since may have left the log: every conversation again
    elif token.since_ms is not None and token.since_ms > now:
        token = replace(token, since_ms=now)  # not one this clock gave: from now on reads no less
    round_ms = token.round_ms if token.round_ms is not None else now
    if token.since_ms is None:
        listed = _everything_ranked(caller.user_id, round_ms)
    else:
        logged = change_store.logged_since(caller.user_id, token.since_ms - change_log.MARGIN_MS)
        listed = [sync_token.Rank(at, conversation_id) for conversation_id, at in logged.items()]
    ranked = sorted(listed, key=lambda rank: rank.key)
    if token.after is not None:
        ranked = [rank for rank in ranked if rank.comes_after(token.after)]
    last_sent = token.after if token.round_ms is not None else None
    complete = True
    for rank in ranked:
        # A conversation logged for the caller is most likely marked: cleared at once, not read twice.
        logged_lately = token.since_ms is not None or rank.at_ms > 0
        read = _read_clearing_the_mark(caller.user_id, rank.conversation_id, always=logged_lately)
        if read is None:
            last_sent = rank
            continue
        added = reply.add(*read)
        if not added:
            # Not sent, or sent in part: the next page starts with it.
            complete = False
            break
        last_sent = rank
    if reply.gone:
        return SyncedOut(conversations=reply.summaries, complete=False, syncToken=frame.since)
    following = sync_token.ended(round_ms) if complete else sync_token.unfinished(token, round_ms, last_sent)
    return SyncedOut(conversations=reply.summaries, complete=complete, syncToken=following.text())


def _everything_ranked(user_id: str, round_ms: int) -> list[sync_token.Rank]:
    """Every conversation of the user, those logged in the last day first, by their last change (the
    others rank as changed at 0)."""
    listed = dict.fromkeys((m.conversation_id for m in member_store.memberships_of(user_id)), 0)
    listed.update(change_store.logged_since(user_id, round_ms - LISTING_WINDOW_MS))
    return [sync_token.Rank(at, conversation_id) for conversation_id, at in listed.items()]


def _read_clearing_the_mark(
    user_id: str, conversation_id: str, *, always: bool
) -> tuple[Conversation, Member, list[Member]] | None:
    """The conversation and its members, read strongly consistently after the caller's row is unmarked
    (`always`, or only if it was marked): changes from then on are logged for the caller again. None when
    the caller is not in it."""
    if always and not member_store.unmark(conversation_id, user_id):
        return None
    members = member_store.list_members(conversation_id, consistent=True)
    me = next((m for m in members if m.user_id == user_id), None)
    if me is not None and me.marked and not always:
        member_store.unmark(conversation_id, user_id)
        members = member_store.list_members(conversation_id, consistent=True)
        me = next((m for m in members if m.user_id == user_id), None)
    conversation = conversation_store.get_conversation(conversation_id)
    if me is None or conversation is None:
        return None
    return conversation, me, members


def history(caller: Caller, frame: HistoryFrame) -> HistoryOut:
    conversation, member = membership(caller.user_id, frame.conversationId, former_ok=True)
    top = member.visible_top(conversation.last_seq)
    before = top + 1 if frame.beforeSeq is None else min(frame.beforeSeq, top + 1)
    messages = message_store.messages_before(frame.conversationId, before, member.joined_seq, frame.limit)
    frames = [message_frame(m, member) for m in messages]
    # Keep the newest that fit in one frame; the client asks again from the oldest it got.
    while frames and sum(len(f.json_text().encode("utf-8")) for f in frames) > MAX_REPLY_BYTES:
        frames.pop(0)
    oldest = frames[0].seq if frames else before
    return HistoryOut(conversationId=frame.conversationId, messages=frames, hasMore=oldest > member.joined_seq + 1)
