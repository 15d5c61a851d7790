"""Token buckets as arithmetic, no I/O: how many frames of one action a user may send, and when.

A bucket holds at most `burst` tokens and gains `per_second` tokens a second; each frame takes one,
and a frame that finds the bucket empty is refused. Stored, a bucket is one number (GCRA, the
"generic cell rate algorithm" form of a token bucket): `full_at`, the time (ms) at which the bucket
holds `burst` tokens again. At time `now`, with `interval` = 1000 / per_second ms per token:

    tokens(now) = burst - (full_at - now) / interval      (burst when full_at <= now)

- a full bucket (no item, or full_at <= now) gives a token: full_at becomes now + interval;
- a bucket in use gives one while it has one, that is while full_at <= now + (burst - 1) * interval
  (the `ceiling`): full_at moves one interval later;
- otherwise the frame is refused, and a token comes back in full_at - ceiling ms.

So taking a token is "add one interval to full_at, if it is not past the ceiling": a single
conditional write that DynamoDB applies atomically, however many invocations race for the bucket
(chat/store/limits.py). Refilling needs no write at all: it is the passing of time.

`CHAT_RATE_LIMITS` overrides the limits the registry declares (`parse_overrides`; an action without
one cannot be given one there): `off` (no limits), or a comma-separated list of `action=off` and
`action=RATE/UNIT[:BURST]` with UNIT `s` or `min`, e.g.
`send=100/s,sync=10/s` or `createGroup=5/min:10`. Without `:BURST` the burst is one unit's worth
(`send=2/s` holds 2 tokens).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

# A bucket's item outlives the moment it is full again by this much, then TTL may drop it: a
# missing item and a full bucket are the same thing, so when DynamoDB gets to it does not matter.
EXPIRY_MARGIN_S = 60


@dataclass(frozen=True)
class RateLimit:
    """`per_second` tokens a second (may be a fraction: 0.1 is one every 10 s), at most `burst` at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError(f"a rate limit needs a positive rate, not {self.per_second!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"a rate limit's burst is a whole number of at least 1, not {self.burst!r}")

    @property
    def interval_ms(self) -> int:
        """Milliseconds per token, rounded up (the rate is never above the one declared)."""
        return max(1, math.ceil(1000 / self.per_second))

    @property
    def tolerance_ms(self) -> int:
        """How far full_at may be ahead of now while a token is left."""
        return (self.burst - 1) * self.interval_ms

    @property
    def rate(self) -> str:
        """`20/s`, or per minute below one a second (`6/min`)."""
        return f"{self.per_second:g}/s" if self.per_second >= 1 else f"{self.per_second * 60:g}/min"

    def describe(self) -> str:
        return f"{self.rate}, burst {self.burst}"


@dataclass(frozen=True)
class Take:
    """The two conditional writes that take a token at `now_ms` (chat/store/limits.py runs them)."""

    now_ms: int
    interval_ms: int
    # A bucket in use has a token while its full_at is at most this.
    ceiling_ms: int
    # When the item may go (epoch seconds): after any successful take, full_at <= ceiling + interval.
    expires_at: int


def take(limit: RateLimit, now_ms: int) -> Take:
    ceiling = now_ms + limit.tolerance_ms
    return Take(
        now_ms=now_ms,
        interval_ms=limit.interval_ms,
        ceiling_ms=ceiling,
        expires_at=math.ceil((ceiling + limit.interval_ms) / 1000) + EXPIRY_MARGIN_S,
    )


def retry_after_ms(limit: RateLimit, full_at_ms: int, now_ms: int) -> int:
    """Milliseconds until a bucket refused at `now_ms` has a token again (at least 1)."""
    return max(1, full_at_ms - limit.tolerance_ms - now_ms)


def admit(limit: RateLimit, full_at_ms: int | None, now_ms: int) -> tuple[int | None, int]:
    """The rule in one function (what the store's two writes do together), for tests and reasoning:
    (the new full_at, 0) when a token is taken, (None, retry after ms) when the frame is refused."""
    step = take(limit, now_ms)
    if full_at_ms is None or full_at_ms <= now_ms:
        return now_ms + step.interval_ms, 0
    if full_at_ms <= step.ceiling_ms:
        return full_at_ms + step.interval_ms, 0
    return None, retry_after_ms(limit, full_at_ms, now_ms)


def tokens(limit: RateLimit, full_at_ms: int | None, now_ms: int) -> float:
    """Tokens in the bucket at `now_ms` (for tests and logs)."""
    if full_at_ms is None or full_at_ms <= now_ms:
        return float(limit.burst)
    return limit.burst - (full_at_ms - now_ms) / limit.interval_ms


# ---- CHAT_RATE_LIMITS -------------------------------------------------------------------------------

OFF = "off"
_SPEC = re.compile(r"(?P<rate>\d+(?:\.\d+)?)/(?P<unit>s|min)(?::(?P<burst>\d+))?")
_SECONDS = {"s": 1, "min": 60}


def parse_limit(spec: str) -> RateLimit:
    """`RATE/UNIT[:BURST]`, e.g. `20/s:60`, `5/min`."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise ValueError(f"{spec!r} is not RATE/s or RATE/min, optionally followed by :BURST (e.g. 20/s:60)")
    rate = float(match["rate"])
    burst = int(match["burst"]) if match["burst"] else max(1, math.ceil(rate))
    return RateLimit(per_second=rate / _SECONDS[match["unit"]], burst=burst)


def parse_overrides(text: str, actions: Iterable[str]) -> dict[str, RateLimit | None] | None:
    """CHAT_RATE_LIMITS: None for `off` (every limit off), else action -> its limit (None: no limit).

    Raises ValueError naming what is wrong: an unknown action, a malformed limit, an action twice.
    """
    known = set(actions)
    text = text.strip()
    if text.lower() == OFF:
        return None
    overrides: dict[str, RateLimit | None] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        action, equals, spec = (part.strip() for part in entry.partition("="))
        if not equals:
            raise ValueError(f"{entry.strip()!r} is not action=limit")
        if action not in known:
            raise ValueError(f"{action!r} is not an action with a rate limit (those are: {', '.join(sorted(known))})")
        if action in overrides:
            raise ValueError(f"{action!r} is given twice")
        overrides[action] = None if spec.lower() == OFF else parse_limit(spec)
    return overrides


def effective_limits(
    declared: dict[str, RateLimit | None], overrides: dict[str, RateLimit | None] | None
) -> dict[str, RateLimit]:
    """The limit of each limited action: the registry's, overridden; none at all when `off`."""
    if overrides is None:
        return {}
    merged = {**declared, **overrides}
    return {action: limit for action, limit in merged.items() if limit is not None}
