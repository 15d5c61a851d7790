"""sync and history: what a device missed, and older messages on demand.

Every frame stays under API Gateway's 32 KB frame limit: `message` frames go out one by one through
@connections (in seq order, on the caller's own connection), the `synced` and `history` replies are
cut to fit, and `complete: false` / `hasMore: true` tell the client to ask again.
"""

from __future__ import annotations

from chat import push, watermarks
from chat.access import membership
from chat.domain import Caller, Conversation, Endpoint, Member, active
from chat.errors import Internal
from chat.fanout import message_frame
from chat.protocol import (
    ConversationReceipt,
    ConversationSummary,
    HistoryFrame,
    HistoryOut,
    SyncedOut,
    SyncFrame,
)
from chat.store import conversations as conversation_store
from chat.store import members as member_store
from chat.store import messages as message_store

NEWEST_FOR_UNKNOWN = 50
MAX_MESSAGES_PER_SYNC = 200
MAX_REPLY_BYTES = 30 * 1024


def _receipts(conversation: Conversation, members: list[Member], me: Member) -> list[ConversationReceipt]:
    return [
        ConversationReceipt(userId=w.user_id, kind=w.kind, seq=w.seq, at=w.at)
        for w in watermarks.watermarks_told(conversation, members, me)
    ]


def summary_of(
    conversation: Conversation, me: Member, members: list[Member], first_seq_sent: int | None
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
    )


def sync(caller: Caller, frame: SyncFrame) -> SyncedOut:
    mine = {m.conversation_id: m for m in member_store.memberships_of(caller.user_id)}
    conversations = conversation_store.get_conversations(mine) if mine else {}
    summaries: list[ConversationSummary] = []
    budget = MAX_MESSAGES_PER_SYNC
    reply_size = 200
    complete = True

    # Conversations with the newest activity the caller may see first, so a cut-off reply carries what
    # matters most (a group it left is ranked by its leaving, or its order would tell of later messages).
    def newest_visible(conversation: Conversation) -> int:
        return mine[conversation.conversation_id].visible_top(conversation.last_seq)

    for conversation in sorted(conversations.values(), key=newest_visible, reverse=True):
        members = member_store.list_members(conversation.conversation_id)
        # The caller's row as the table has it: the byUser index may not show a leaving yet.
        me = next((m for m in members if m.user_id == caller.user_id), mine[conversation.conversation_id])
        top = me.visible_top(conversation.last_seq)
        if conversation.conversation_id in frame.cursors:
            after = max(frame.cursors[conversation.conversation_id], me.joined_seq)
        else:
            after = max(top - NEWEST_FOR_UNKNOWN, me.joined_seq)
        wanted = max(0, top - after)
        take = min(wanted, budget)
        if take < wanted:
            complete = False
        messages = (
            message_store.messages_after(conversation.conversation_id, after, up_to=top, limit=take) if take else []
        )
        summary = summary_of(conversation, me, members, messages[0].seq if messages else None)
        size = len(summary.model_dump_json().encode("utf-8"))
        if reply_size + size > MAX_REPLY_BYTES and summaries:
            complete = False
            break
        # One connection, one message at a time: the device sees them in seq order.
        frames = (message_frame(m).json_text().encode("utf-8") for m in messages)
        posted = push.post_in_order(Endpoint(caller.user_id, caller.connection_id), frames)
        if posted.gone:
            return SyncedOut(conversations=summaries, complete=False)  # the socket closed meanwhile
        if not posted.ok:
            raise Internal("messages could not be delivered; please sync again")
        budget -= len(messages)
        summaries.append(summary)
        reply_size += size
    return SyncedOut(conversations=summaries, complete=complete)


def history(caller: Caller, frame: HistoryFrame) -> HistoryOut:
    conversation, member = membership(caller.user_id, frame.conversationId, former_ok=True)
    top = member.visible_top(conversation.last_seq)
    before = top + 1 if frame.beforeSeq is None else min(frame.beforeSeq, top + 1)
    messages = message_store.messages_before(frame.conversationId, before, member.joined_seq, frame.limit)
    frames = [message_frame(m) for m in messages]
    # Keep the newest that fit in one frame; the client asks again from the oldest it got.
    while frames and sum(len(f.json_text().encode("utf-8")) for f in frames) > MAX_REPLY_BYTES:
        frames.pop(0)
    oldest = frames[0].seq if frames else before
    return HistoryOut(conversationId=frame.conversationId, messages=frames, hasMore=oldest > member.joined_seq + 1)
