"""The topology's functions, imported from this checkout and invoked the way Lambda would."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chat.faults import Crash
from chat.topology import AUTHORIZER, FUNCTIONS
from local import costs
from local.iam import ACCOUNT_ID, REGION, InvocationTimedOut, acting_as

log = logging.getLogger("local.lambda")

# Local knobs for how Lambda behaves, e.g. LOCAL_FUNCTION_TIMEOUTS="send=1" (seconds) and
# LOCAL_FUNCTION_DELAYS="connect=2,send=1.5x1" (seconds added after the handler, for the next N calls).
ENV_TIMEOUTS = "LOCAL_FUNCTION_TIMEOUTS"
ENV_DELAYS = "LOCAL_FUNCTION_DELAYS"


def _timeouts_from(setting: str) -> dict[str, float]:
    return {name: float(value) for name, value in _named_settings(setting)}


def _delays_from(setting: str) -> dict[str, tuple[float, int | None]]:
    delays: dict[str, tuple[float, int | None]] = {}
    for name, value in _named_settings(setting):
        seconds, _, count = value.partition("x")
        delays[name] = (float(seconds), int(count) if count else None)
    return delays


def _named_settings(setting: str) -> list[tuple[str, str]]:
    found = []
    for item in setting.split(","):
        if item.strip():
            name, _, value = item.partition("=")
            found.append((name.strip(), value.strip()))
    return found


Handler = Callable[[dict[str, Any], Any], Any]


class FunctionError(Exception):
    """The invocation failed the way a Lambda invocation fails (exception, timeout, bad result).

    `error_message` is what Lambda reports as errorMessage: the str() of the handler's exception.
    """

    def __init__(self, message: str, error_message: str = "") -> None:
        super().__init__(message)
        self.error_message = error_message or message


@dataclass
class LambdaContext:
    """What Lambda passes as `context`; Powertools' Logger.inject_lambda_context reads these."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    @classmethod
    def of(
        cls,
        name: str,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        prefix: str = "chat-",
        timeout_s: float | None = None,
    ) -> LambdaContext:
        """The context of one invocation of the topology function `name`."""
        spec = FUNCTIONS[name]
        function_name = f"{prefix}{name}"
        return cls(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{function_name}",
            timeout_s=spec.timeout_s if timeout_s is None else timeout_s,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(name: str) -> Handler:
    """The topology function's handler, imported from this checkout."""
    module_name, _, attribute = FUNCTIONS[name].handler.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


class Functions:
    """Imports handlers lazily (they read their environment at import) and invokes them.

    `overrides` replaces functions by name, for tests of the local stack itself.
    """

    def __init__(
        self,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        overrides: Mapping[str, Handler] | None = None,
        prefix: str = "chat-",
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.prefix = prefix
        self._handlers: dict[str, Handler] = dict(overrides or {})
        self._lock = threading.Lock()
        # Per-function timeouts in seconds instead of the topology's (tests of the timeout itself).
        self.timeouts: dict[str, float | None] = dict(_timeouts_from(os.environ.get(ENV_TIMEOUTS, "")))
        # A slow integration: seconds added after the handler ran, for the next N invocations (None: all).
        self.delays: dict[str, tuple[float, int | None]] = _delays_from(os.environ.get(ENV_DELAYS, ""))
        self._delays_used: dict[str, int] = {}

    def _handler(self, name: str) -> Handler:
        handler = self._handlers.get(name)
        if handler is not None:
            return handler
        with self._lock:
            if name not in self._handlers:
                try:
                    self._handlers[name] = load_handler(name)
                except ImportError as exc:
                    raise FunctionError(f"function {name!r} is not available: {exc}") from exc
            return self._handlers[name]

    def load_all(self) -> list[str]:
        """Imports every function now; returns the names of those that are missing or fail to import."""
        missing = []
        for name in FUNCTIONS:
            try:
                self._handler(name)
            except FunctionError as exc:
                missing.append(name)
                log.warning("%s", exc)
            except Exception:
                missing.append(name)
                log.exception("function %r failed to import", name)
        return missing

    @property
    def behaviours(self) -> list[str]:
        """The knobs that make these functions differ from the topology, for /health."""
        described = [f"function timeout {name}={seconds:g}s" for name, seconds in self.timeouts.items() if seconds]
        for name, (seconds, count) in self.delays.items():
            described.append(f"function delay {name}={seconds:g}s" + (f" x{count}" if count is not None else ""))
        return described

    def _take_delay(self, name: str) -> float:
        with self._lock:
            seconds, count = self.delays.get(name, (0.0, None))
            used = self._delays_used.get(name, 0)
            if count is not None and used >= count:
                return 0.0
            self._delays_used[name] = used + 1
            return seconds

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Runs one invocation; returns the JSON-round-tripped result or raises FunctionError.

        As in Lambda, an invocation that runs past its function's timeout fails ("Task timed out")
        and its result, if it ever comes, is dropped; from then on every AWS call it tries fails
        (Lambda would have frozen it), so a late invocation changes nothing.
        """
        override = self.timeouts.get(name)
        timeout_s = FUNCTIONS[name].timeout_s if override is None else override
        context = LambdaContext.of(name, self.region, self.account_id, self.prefix, timeout_s)
        handler = self._handler(name)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        delay = self._take_delay(name)

        meter = costs.active()

        def run() -> None:
            try:
                with acting_as(name, timeout_s=timeout_s):
                    with meter.invocation(name, context.memory_limit_in_mb) if meter else contextlib.nullcontext():
                        result = handler(event, context)
                    if delay:
                        time.sleep(delay)
                    outcome["result"] = result
            except InvocationTimedOut:
                log.info("%s (request %s) stopped at its timeout", name, context.aws_request_id)
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                finished.set()

        started = time.monotonic()
        threading.Thread(target=run, name=f"lambda-{name}", daemon=True).start()
        if not finished.wait(timeout_s):
            log.error("%s: Task timed out after %.2f seconds (request %s)", name, timeout_s, context.aws_request_id)
            raise FunctionError(f"{name}: Task timed out after {timeout_s:.2f} seconds", "Task timed out")
        log.debug("%s %.1f ms", name, (time.monotonic() - started) * 1000)
        if "error" in outcome:
            exc = outcome["error"]
            if name == AUTHORIZER and str(exc) == "Unauthorized":
                log.info("authorizer: Unauthorized")  # the documented way to answer 401
            elif isinstance(exc, Crash):
                log.warning("%s died (request %s): %s", name, context.aws_request_id, exc)
            else:
                log.error("%s failed (request %s)", name, context.aws_request_id, exc_info=exc)
            raise FunctionError(f"{name}: {type(exc).__name__}: {exc}", str(exc)) from exc
        if "result" not in outcome:
            raise FunctionError(f"{name}: Task timed out after {timeout_s:.2f} seconds", "Task timed out")
        try:
            # Lambda serializes the result to JSON; a handler returning e.g. a Decimal fails there.
            return json.loads(json.dumps(outcome["result"]))
        except (TypeError, ValueError) as exc:
            log.error("%s: Runtime.MarshalError: %s", name, exc)
            raise FunctionError(f"{name}: result is not JSON serializable: {exc}") from exc
