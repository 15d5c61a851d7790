"""The token bucket's arithmetic (chat/token_bucket.py): burst, refill, retry-after, and CHAT_RATE_LIMITS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.token_bucket import RateLimit, admit, effective_limits, parse_limit, parse_overrides, tokens

SEND = RateLimit(per_second=20, burst=60)
T0 = 1_800_000_000_000


def take_all(limit: RateLimit, times: list[int], full_at: int | None = None) -> tuple[list[bool], int | None]:
    """Runs frames arriving at `times` through one bucket: which were admitted, and its final full_at."""
    admitted = []
    for now in times:
        after, _ = admit(limit, full_at, now)
        admitted.append(after is not None)
        full_at = after if after is not None else full_at
    return admitted, full_at


def test_a_fresh_bucket_admits_exactly_the_burst_at_once() -> None:
    admitted, _ = take_all(SEND, [T0] * 61)
    assert admitted == [True] * 60 + [False]


def test_a_refused_frame_is_told_when_the_next_token_comes_and_it_does() -> None:
    _, full_at = take_all(SEND, [T0] * 60)

    refused, retry = admit(SEND, full_at, T0 + 10)
    assert refused is None and retry == SEND.interval_ms - 10 == 40

    assert admit(SEND, full_at, T0 + 10 + retry - 1)[0] is None  # one ms early: still empty
    assert admit(SEND, full_at, T0 + 10 + retry)[0] is not None


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    _, full_at = take_all(SEND, [T0] * 60)
    assert tokens(SEND, full_at, T0) == 0
    assert tokens(SEND, full_at, T0 + 1000) == 20  # a second later: 20 tokens
    assert tokens(SEND, full_at, T0 + 3000) == 60
    assert tokens(SEND, full_at, T0 + 60_000) == 60  # never more than the burst

    admitted, _ = take_all(SEND, [T0 + 1000] * 21, full_at)
    assert admitted == [True] * 20 + [False]


def test_a_slow_steady_sender_is_never_refused() -> None:
    admitted, _ = take_all(SEND, [T0 + i * 50 for i in range(10_000)])  # exactly the rate, for 500 s
    assert all(admitted)


def test_fractional_rates_and_rounding() -> None:
    create_group = RateLimit(per_second=0.1, burst=10)
    assert create_group.interval_ms == 10_000
    assert create_group.describe() == "6/min, burst 10"
    assert RateLimit(per_second=3, burst=1).interval_ms == 334  # rounded up: never above 3/s
    assert SEND.describe() == "20/s, burst 60"


@pytest.mark.parametrize("per_second, burst", [(0, 1), (-1, 1), (float("inf"), 1), (float("nan"), 1), (1, 0), (1, 1.5)])
def test_a_limit_needs_a_positive_rate_and_a_whole_burst(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimit(per_second=per_second, burst=burst)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    per_second=st.sampled_from([0.1, 1, 2, 20, 333]),
    burst=st.integers(min_value=1, max_value=80),
    gaps=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=300),
)
def test_no_window_ever_admits_more_than_the_burst_plus_what_refilled_in_it(
    per_second: float, burst: int, gaps: list[int]
) -> None:
    limit = RateLimit(per_second=per_second, burst=burst)
    times, now = [], T0
    for gap in gaps:
        now += gap
        times.append(now)
    admitted, _ = take_all(limit, times)
    taken = [t for t, ok in zip(times, admitted, strict=True) if ok]
    # Between any two admitted frames (both included): at most burst + the tokens the elapsed time refilled.
    for i, start in enumerate(taken):
        for j in range(i, len(taken)):
            assert j - i + 1 <= burst + (taken[j] - start) // limit.interval_ms
    # And a frame is refused only when the bucket really had less than one token.
    full_at: int | None = None
    for now in times:
        after, retry = admit(limit, full_at, now)
        if after is None:
            assert tokens(limit, full_at, now) < 1 and retry >= 1
            assert tokens(limit, full_at, now + retry) >= 1
        else:
            full_at = after


# ---- CHAT_RATE_LIMITS -------------------------------------------------------------------------------

ACTIONS = ["send", "sync", "createGroup", "typing"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("off", None),
        (" OFF ", None),
        ("", {}),
        ("send=2/s", {"send": RateLimit(2, 2)}),
        ("send=100/s:300, sync=10/s", {"send": RateLimit(100, 300), "sync": RateLimit(10, 10)}),
        ("createGroup=5/min", {"createGroup": RateLimit(5 / 60, 5)}),
        ("createGroup=0.5/s:3", {"createGroup": RateLimit(0.5, 3)}),
        ("send=off,typing=1/s", {"send": None, "typing": RateLimit(1, 1)}),
    ],
)
def test_overrides_parse(text: str, expected: object) -> None:
    assert parse_overrides(text, ACTIONS) == expected


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("sned=2/s", "'sned' is not an action with a rate limit"),
        ("send", "is not action=limit"),
        ("send=2", "is not RATE/s or RATE/min"),
        ("send=2/h", "is not RATE/s or RATE/min"),
        ("send=-1/s", "is not RATE/s or RATE/min"),
        ("send=0/s", "positive rate"),
        ("send=2/s:0", "burst"),
        ("send=2/s,send=3/s", "given twice"),
        ("send=2/s\n", None),  # surrounding whitespace is fine
    ],
)
def test_bad_overrides_say_what_is_wrong(text: str, complaint: str | None) -> None:
    if complaint is None:
        assert parse_overrides(text, ACTIONS) == {"send": RateLimit(2, 2)}
        return
    with pytest.raises(ValueError, match=complaint):
        parse_overrides(text, ACTIONS)


def test_a_limit_spec_is_matched_whole() -> None:
    with pytest.raises(ValueError):
        parse_limit("2/s:3x")


def test_effective_limits_override_the_declared_ones() -> None:
    declared = {"send": SEND, "sync": RateLimit(5, 30), "typing": None}
    assert effective_limits(declared, {}) == {"send": SEND, "sync": RateLimit(5, 30)}
    assert effective_limits(declared, {"send": RateLimit(2, 2), "sync": None, "typing": RateLimit(1, 1)}) == {
        "send": RateLimit(2, 2),
        "typing": RateLimit(1, 1),
    }
    assert effective_limits(declared, None) == {}
