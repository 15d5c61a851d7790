"""Retrying an operation that lost a race: a conditional write or transaction beaten by a concurrent one.

One policy for every race: bounded attempts, each after a jittered exponential pause (full jitter, so
racers spread out instead of colliding again in step) of at most MAX_DELAY_S. Each operation states
its number of attempts once, with the reason, where it calls `retrying`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

BASE_DELAY_S = 0.01
MAX_DELAY_S = 0.25


def backoff_s(attempt: int) -> float:
    """The pause after the attempt-th lost race (from 0): random, up to 10 ms doubling to 250 ms."""
    return min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt) * random.random()


def retrying(
    operation: Callable[[], T],
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    attempts: int,
    gave_up: Exception | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Runs `operation` until it does not raise `retry_on`.

    After `attempts` lost races the last one's error propagates, or `gave_up` is raised from it.
    """
    for attempt in range(attempts):
        try:
            return operation()
        except retry_on:
            if attempt == attempts - 1:
                if gave_up is not None:
                    raise gave_up from None
                raise
            sleep(backoff_s(attempt))
    raise AssertionError("unreachable")
