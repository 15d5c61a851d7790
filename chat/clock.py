"""Time in the protocol's format: ISO 8601 UTC with milliseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_iso() -> str:
    return iso(time.time())


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch_s() -> int:
    return int(time.time())


def epoch_ms() -> int:
    return int(time.time() * 1000)
