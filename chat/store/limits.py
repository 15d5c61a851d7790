"""The Limits table: fixed-window counters (typing) and per-user token buckets (chat/token_bucket.py).

Both are short-lived items that TTL drops once they no longer limit anything.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PynamoDBConnectionError

from chat import token_bucket
from chat.store.errors import StoreUnavailable
from chat.store.models import LimitModel
from chat.store.writes import Update, applied
from chat.token_bucket import RateLimit


def take_slot(limit_key: str, limit: int, expires_at: int) -> bool:
    """Counts one use of a fixed-window limit; False (and nothing counted) once `limit` uses were taken.

    One atomic conditional UpdateItem: concurrent callers can never take more than `limit` slots.
    """
    return applied(
        Update(
            LimitModel(limit_key=limit_key),
            [LimitModel.uses.add(1), LimitModel.expires_at.set(expires_at)],
            LimitModel.uses.does_not_exist() | (LimitModel.uses < limit),
        )
    )


def take_token(limit_key: str, limit: RateLimit, now_ms: int) -> int | None:
    """Takes one token from the bucket; None when taken, else the ms until one is there (nothing taken).

    Every change is one conditional UpdateItem, which DynamoDB applies atomically, so concurrent
    invocations never take more tokens than the bucket holds, and no read comes before a write:

    1. a full bucket (no item, or fullAt <= now): SET fullAt = now + interval. A user who is not
       bursting costs this one write per frame.
    2. else a bucket in use: SET fullAt = fullAt + interval, if fullAt <= now + (burst - 1) * interval.
       fullAt only ever grows, so when 1 failed, 2 is the only case left; no retry loop.
    3. else refused: one strongly consistent GetItem reads fullAt for the retry-after.

    Cost per frame: 1 write; 2 writes while bursting (a failed conditional write is billed as one);
    a refused frame 2 writes and 1 read. The item is under 100 bytes: 1 WCU per write, 1 RCU per read.

    Raises StoreUnavailable when DynamoDB does not answer.
    """
    try:
        return _take_token(limit_key, limit, now_ms)
    except PynamoDBConnectionError as exc:
        raise StoreUnavailable(f"the bucket {limit_key!r} could not be used: {exc}") from exc


def _take_token(limit_key: str, limit: RateLimit, now_ms: int) -> int | None:
    step = token_bucket.take(limit, now_ms)
    row = LimitModel(limit_key=limit_key)
    expiry = LimitModel.expires_at.set(step.expires_at)
    if applied(
        Update(
            row,
            [LimitModel.full_at.set(step.now_ms + step.interval_ms), expiry],
            LimitModel.full_at.does_not_exist() | (LimitModel.full_at <= step.now_ms),
        )
    ):
        return None
    if applied(Update(row, [LimitModel.full_at.add(step.interval_ms), expiry], LimitModel.full_at <= step.ceiling_ms)):
        return None
    try:
        full_at = LimitModel.get(limit_key, consistent_read=True, attributes_to_get=["fullAt"]).full_at
    except DoesNotExist:
        full_at = None
    # Past the ceiling, unless TTL dropped the item or another clock got ahead in between: then a
    # retry in 1 ms takes a token.
    return token_bucket.retry_after_ms(limit, int(full_at) if full_at is not None else now_ms, now_ms)
