"""The topology's functions, imported from this checkout and invoked the way Lambda would."""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chat.topology import AUTHORIZER, FUNCTIONS

log = logging.getLogger("local.lambda")

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
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Functions:
    """Imports handlers lazily (they read their environment at import) and invokes them.

    `overrides` replaces functions by name, for tests of the local stack itself.
    """

    def __init__(
        self, region: str, account_id: str, overrides: Mapping[str, Handler] | None = None, prefix: str = "chat-"
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.prefix = prefix
        self._handlers: dict[str, Handler] = dict(overrides or {})
        self._lock = threading.Lock()

    def _handler(self, name: str) -> Handler:
        handler = self._handlers.get(name)
        if handler is not None:
            return handler
        with self._lock:
            if name not in self._handlers:
                module_name, _, attribute = FUNCTIONS[name].handler.rpartition(".")
                try:
                    module = importlib.import_module(module_name)
                except ImportError as exc:
                    raise FunctionError(f"function {name!r} is not available: {exc}") from exc
                self._handlers[name] = getattr(module, attribute)
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

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Runs one invocation; returns the JSON-round-tripped result or raises FunctionError."""
        spec = FUNCTIONS[name]
        function_name = f"{self.prefix}{name}"
        context = LambdaContext(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{function_name}",
            timeout_s=spec.timeout_s,
        )
        handler = self._handler(name)
        started = time.monotonic()
        try:
            result = handler(event, context)
        except Exception as exc:
            if name == AUTHORIZER and str(exc) == "Unauthorized":
                log.info("authorizer: Unauthorized")  # the documented way to answer 401
            else:
                log.exception("%s failed (request %s)", name, context.aws_request_id)
            raise FunctionError(f"{name}: {type(exc).__name__}: {exc}", str(exc)) from exc
        finally:
            elapsed = time.monotonic() - started
            log.debug("%s %.1f ms", name, elapsed * 1000)
        if elapsed > spec.timeout_s:
            # Lambda would have stopped it. Locally every function shares one process (and maybe a busy
            # machine), so a slow run is not proof of a slow function: say so loudly, keep the result.
            log.warning("%s took %.2f s: over its %d s Lambda timeout", name, elapsed, spec.timeout_s)
        try:
            # Lambda serializes the result to JSON; a handler returning e.g. a Decimal fails there.
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            log.error("%s: Runtime.MarshalError: %s", name, exc)
            raise FunctionError(f"{name}: result is not JSON serializable: {exc}") from exc
