"""Fault injection for testing the system under failure: off unless CHAT_FAULTS names a point.

    CHAT_FAULTS="send.crash_after_store=0.05,post.gone=0.01"   # point=probability, comma-separated
    CHAT_FAULTS="post.throttle=1x5"                            # xN: at most N times in all
    CHAT_FAULTS_SEED=1                                         # each point draws from its own seeded generator

Read once, when this module is imported (a function's cold start). Never set in AWS: without the
variable every point is a dictionary lookup that finds nothing. Two points are in the functions'
code (`fault_point`); the others are played by the local stack (`local/`) where AWS would fail.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field

ENV = "CHAT_FAULTS"
ENV_SEED = "CHAT_FAULTS_SEED"

# Every point, and what happens there as it does in AWS.
POINTS = {
    "send.crash_after_store": "the send function dies after its write commits, before it replies",
    "fanout.crash": "the fan-out function dies after a message's POSTs, failing its whole batch",
    "post.gone": "@connections answers 410 for a live connection, which is gone from then on",
    "post.throttle": "@connections answers 429",
    "stream.duplicate": "a stream batch is delivered to its function again",
    "disconnect.drop": "$disconnect is never invoked for a closed connection",
    "ddb.throttle": "a DynamoDB item call is throttled (400 ProvisionedThroughputExceededException)",
}


class Crash(BaseException):  # not an Exception: no handler's `except Exception` may swallow it
    """An injected crash: the invocation dies here, as a process that is killed does."""


@dataclass
class Fault:
    point: str
    probability: float
    times: int | None = None  # at most this many times in all (None: no limit)
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, object]:
        return {"point": self.point, "probability": self.probability, "times": self.times, "fired": self.fired}


class Faults:
    def __init__(self, setting: str = "", seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        for item in setting.split(","):
            if not item.strip():
                continue
            point, _, value = (part.strip() for part in item.partition("="))
            if point not in POINTS:
                raise ValueError(f"{ENV}: unknown fault point {point!r} (known: {', '.join(POINTS)})")
            probability, _, times = value.partition("x")
            fault = Fault(point, float(probability), int(times) if times else None)
            if not 0 <= fault.probability <= 1:
                raise ValueError(f"{ENV}: {point}'s probability must be between 0 and 1, not {value!r}")
            fault._random = random.Random(f"{seed}:{point}")
            self._faults[point] = fault

    @classmethod
    def from_env(cls) -> Faults:
        return cls(os.environ.get(ENV, ""), int(os.environ.get(ENV_SEED) or 0))

    def fires(self, point: str) -> bool:
        """Whether the fault happens this time at `point` (counted when it does)."""
        fault = self._faults.get(point)
        if fault is None:
            return False
        with self._lock:
            if fault.times is not None and fault.fired >= fault.times:
                return False
            if fault.probability < 1 and fault._random.random() >= fault.probability:
                return False
            fault.fired += 1
            return True

    @property
    def active(self) -> list[dict[str, object]]:
        """Each point switched on, with how often it fired (the local stack's /health lists these)."""
        with self._lock:
            return [fault.describe() for fault in self._faults.values()]


_faults = Faults.from_env()


def current() -> Faults:
    return _faults


def configure(setting: str = "", seed: int = 0) -> Faults:
    """Replaces the faults of this process (tests); `configure()` switches every point off."""
    global _faults
    _faults = Faults(setting, seed)
    return _faults


def fires(point: str) -> bool:
    return _faults.fires(point)


def fault_point(point: str) -> None:
    """Dies here (raises `Crash`) when the fault at `point` fires; otherwise does nothing."""
    if _faults.fires(point):
        raise Crash(f"injected fault: {point}")
