"""A thread pool whose tasks run in the context of the invocation that submitted them.

Work fanned out to threads (POSTs, look-ups side by side) belongs to the invocation that started it:
its context variables (log keys, and locally the function whose role signs the AWS calls) must
follow it. `ThreadPoolExecutor` alone starts every task in an empty context.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREAD_NAME_PREFIX = "chat-pool"


class ContextPool:
    """Created on first use (an import starts no threads); `map` keeps the caller's context."""

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max_workers
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix=f"{THREAD_NAME_PREFIX}-{self.name}"
                )
            return self._pool

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        context = contextvars.copy_context()
        # One copy per task: a Context cannot be entered by two threads at once.
        return self._executor().map(lambda item: context.copy().run(fn, item), items)
