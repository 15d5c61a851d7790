"""One retry policy for lost races (chat/retry.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chat import retry


class Lost(Exception):
    pass


def losing(times: int) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Lost()
        return "stored"

    return calls, operation


def test_an_operation_is_tried_again_until_it_wins() -> None:
    calls, operation = losing(3)
    sleeps: list[float] = []
    assert retry.retrying(operation, retry_on=Lost, attempts=5, sleep=sleeps.append) == "stored"
    assert len(calls) == 4 and len(sleeps) == 3


def test_after_the_last_attempt_the_error_propagates_or_the_given_one_is_raised() -> None:
    calls, operation = losing(10)
    with pytest.raises(Lost):
        retry.retrying(operation, retry_on=Lost, attempts=3, sleep=lambda s: None)
    assert len(calls) == 3
    with pytest.raises(RuntimeError, match="too busy"):
        retry.retrying(operation, retry_on=Lost, attempts=2, gave_up=RuntimeError("too busy"), sleep=lambda s: None)


def test_pauses_are_jittered_exponential_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.random, "random", lambda: 1.0)  # the upper bound of each pause
    assert [retry.backoff_s(a) for a in range(7)] == [0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25]
    monkeypatch.setattr(retry.random, "random", lambda: 0.5)
    assert retry.backoff_s(2) == 0.02
