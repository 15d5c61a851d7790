"""One hook on botocore, for the local stack and the tests: every AWS call passes through the
interceptors in order (the IAM check first, then DynamoDB's behaviours that moto does not show).

PynamoDB and boto3 both end in `BaseClient._make_api_call`, so one patch there sees every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient

Call = Callable[[str, dict[str, Any]], Any]
# (service name, operation, params, the rest of the chain) -> the parsed response
Interceptor = Callable[[str, str, dict[str, Any], Call], Any]

_interceptors: list[tuple[str, Interceptor]] = []
_original: Callable[..., Any] | None = None
_lock = threading.Lock()


def install(name: str, interceptor: Interceptor, position: int | None = None) -> None:
    """Adds (or replaces) the interceptor called `name`; the first one installed is asked first."""
    global _original
    with _lock:
        _interceptors[:] = [(n, i) for n, i in _interceptors if n != name]
        _interceptors.insert(len(_interceptors) if position is None else position, (name, interceptor))
        if _original is None:
            original = _original = BaseClient._make_api_call  # type: ignore[attr-defined]

            def intercepted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
                chain = list(_interceptors)
                service = client.meta.service_model.service_name

                def call(index: int, operation: str, params: dict[str, Any]) -> Any:
                    if index == len(chain):
                        return original(client, operation, params)
                    return chain[index][1](service, operation, params, lambda o, p: call(index + 1, o, p))

                return call(0, operation, params)

            BaseClient._make_api_call = intercepted  # type: ignore[attr-defined]


def installed() -> list[str]:
    """The names of the interceptors, in the order they are asked."""
    with _lock:
        return [n for n, _ in _interceptors]


def remove(name: str) -> None:
    global _original
    with _lock:
        _interceptors[:] = [(n, i) for n, i in _interceptors if n != name]
        if not _interceptors and _original is not None:
            BaseClient._make_api_call = _original  # type: ignore[attr-defined]
            _original = None
