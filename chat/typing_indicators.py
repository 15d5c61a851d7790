"""Typing indicators: relayed to the other members' connected devices, never stored, rate limited.

Only active members may type (`not_found` and `forbidden` as for every action: chat/access.py), and
not in a direct chat with a block either way (`forbidden`, as for a send: chat/blocks.py); the
frame goes to every connected device of every other active member, never to the typing user's own
devices, and nothing of it is stored but a counter.

The rate limit is per (user, conversation): at most 5 frames (TYPING_LIMIT) per fixed 10 s window
(TYPING_WINDOW_S), counted by one atomic conditional UpdateItem on a Limits item that TTL drops after
the window. A client sending `start` every 3 s while typing plus `stop` stays under it. A frame over
the limit is `rate_limited` and reaches nobody; losing one only costs an indicator that receiving
clients time out on their own.
"""

from __future__ import annotations

from chat import clock
from chat.access import membership
from chat.blocks import refuse_if_blocked
from chat.domain import Caller
from chat.errors import RateLimited
from chat.observability import logger
from chat.protocol import TypingFrame, TypingOut
from chat.push import push_to_users
from chat.store import limits
from chat.store import members as member_store

TYPING_LIMIT = 5
TYPING_WINDOW_S = 10


def limit_key(user_id: str, conversation_id: str, window: int) -> str:
    return f"typing#{conversation_id}#{user_id}#{window}"


def window_of(epoch_s: int) -> int:
    return epoch_s // TYPING_WINDOW_S


def typing(caller: Caller, frame: TypingFrame) -> None:
    """Relays start/stop to every device of every other active member; no direct reply."""
    _, member = membership(caller.user_id, frame.conversationId)
    # In a direct chat with a block either way, neither may type to the other (as neither may send).
    refuse_if_blocked(member)

    now = clock.epoch_s()
    window = window_of(now)
    # The item outlives its window by one more window, then TTL drops it.
    expires_at = (window + 2) * TYPING_WINDOW_S
    if not limits.take_slot(limit_key(caller.user_id, frame.conversationId, window), TYPING_LIMIT, expires_at):
        raise RateLimited(
            f"at most {TYPING_LIMIT} typing frames per {TYPING_WINDOW_S} s in a conversation",
            retry_after_ms=((window + 1) * TYPING_WINDOW_S - now) * 1000,  # the next window
        )

    others = [m.user_id for m in member_store.active_members(frame.conversationId) if m.user_id != caller.user_id]
    out = TypingOut(conversationId=frame.conversationId, userId=caller.user_id, state=frame.state)
    result = push_to_users(others, out.json_text())
    if not result.ok:
        # Best effort: a typing indicator is not worth a retry.
        logger.info("typing not delivered everywhere", extra={"failed": len(result.failed)})
