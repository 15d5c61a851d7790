"""Per-user rate limits of client actions: a frame takes a token from the user's bucket for its action,
or is refused with `rate_limited` before anything else happens.

The limits are declared per action in chat/actions.py (`Action.limit`), overridden by CHAT_RATE_LIMITS
(chat/config.py), and applied by the route adapter (chat/api.py) for every action, before its domain
callable runs. The arithmetic is chat/token_bucket.py; the buckets live in the Limits table
(chat/store/limits.py), one item per user and action.
"""

from __future__ import annotations

from chat import clock, config
from chat.errors import RateLimited
from chat.observability import logger, metrics
from chat.store import limits
from chat.store.errors import StoreUnavailable

# A refusal judged by a clock read this long before is judged again (one more try, refusals only).
STALE_CLOCK_MS = 50


def bucket_key(user_id: str, action: str) -> str:
    # The action first: action names hold no `#`, user ids may.
    return f"bucket#{action}#{user_id}"


def take_token(user_id: str, action: str) -> None:
    """Takes a token of the user's `action` bucket, or raises RateLimited (with when to retry)."""
    limit = config.settings().rate_limits.get(action)
    if limit is None:
        return
    try:
        now_ms = clock.epoch_ms()
        wait_ms = limits.take_token(bucket_key(user_id, action), limit, now_ms)
        if wait_ms is not None and clock.epoch_ms() - now_ms >= STALE_CLOCK_MS:
            # This invocation read the clock long before its write landed (a busy machine or a slow
            # call) and a later-starting one moved the bucket meanwhile: judged by a stale `now`, it
            # would be refused a token the bucket has. Judge it again by the time it is now.
            wait_ms = limits.take_token(bucket_key(user_id, action), limit, clock.epoch_ms())
    except StoreUnavailable:
        # The limits guard against abuse; they must not take messaging down with them: a frame whose
        # bucket DynamoDB cannot serve now is let through (and counted, for the dashboard).
        logger.warning("rate limit unavailable; frame let through", exc_info=True)
        metrics.add_metric(name="RateLimitUnavailable", unit="Count", value=1)
        return
    if wait_ms is not None:
        raise RateLimited(f"at most {limit.describe()} {action} frames; retry in {wait_ms} ms", retry_after_ms=wait_ms)
