"""Retrying an operation that lost a race: bounded attempts, jittered exponential backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retrying(
    operation: Callable[[], T],
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    attempts: int,
    base_delay_s: float = 0.01,
    max_delay_s: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Runs `operation` until it does not raise `retry_on`; the last attempt's error propagates."""
    for attempt in range(attempts):
        try:
            return operation()
        except retry_on:
            if attempt == attempts - 1:
                raise
            sleep(min(max_delay_s, base_delay_s * 2**attempt) * random.random())
    raise AssertionError("unreachable")
