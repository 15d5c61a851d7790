"""The scheduled adapter: an EventBridge rule's invocation runs the job chat/topology.py names for the
function's schedule, with the invocation's deadline."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import config, topology
from chat.observability import instrumented

ScheduledHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def scheduled_handler(function: str) -> ScheduledHandler:
    """The Lambda handler of a scheduled function. Built at cold start: the settings are validated and
    the job imported then."""
    config.settings()
    (schedule,) = (s for s in topology.SCHEDULES if s.function == function)
    module, _, attribute = schedule.job.partition(":")
    job: Callable[[float], int] = getattr(importlib.import_module(module), attribute)

    @instrumented
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
        return {"done": job(deadline)}

    return handler
