"""One hook on botocore, for the local stack and the tests: every AWS call passes through the
interceptors in order (the IAM check first, then DynamoDB's behaviours that moto does not show).

PynamoDB and boto3 both end in `BaseClient._make_api_call`, so one patch there sees every call.
Presigning S3 URLs makes no call; `install_presign_check` sees those (as the operation they allow).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import botocore.signers
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


# ---- presigned S3 URLs and POSTs ------------------------------------------------------------------------

# (operation the URL allows, its params) -> None, or raises to refuse signing it.
PresignCheck = Callable[[str, dict[str, Any]], None]
_presign_originals: dict[str, Any] = {}
# S3 client methods that can be presigned -> the operation.
_PRESIGNED_OPERATIONS = {"get_object": "GetObject", "put_object": "PutObject", "head_object": "HeadObject"}


def install_presign_check(check: PresignCheck) -> None:
    """`check` is asked before botocore presigns a URL (GET, PUT) or a POST policy (a PutObject).

    botocore gives each client class these methods when the class is made (at every create_client), from
    the functions in botocore.signers: replacing those reaches every client made afterwards."""
    with _lock:
        url = _presign_originals.setdefault("url", botocore.signers.generate_presigned_url)
        post = _presign_originals.setdefault("post", botocore.signers.generate_presigned_post)

        def generate_presigned_url(self: Any, ClientMethod: str, Params: Any = None, *args: Any, **kwargs: Any) -> Any:
            operation = _PRESIGNED_OPERATIONS.get(ClientMethod)
            if operation is not None and self.meta.service_model.service_name == "s3":
                check(operation, dict(Params or {}))
            return url(self, ClientMethod, Params, *args, **kwargs)

        def generate_presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
            check("PutObject", {"Bucket": Bucket, "Key": Key})
            return post(self, Bucket, Key, *args, **kwargs)

        botocore.signers.generate_presigned_url = generate_presigned_url  # type: ignore[assignment]
        botocore.signers.generate_presigned_post = generate_presigned_post  # type: ignore[assignment]


def remove_presign_check() -> None:
    with _lock:
        if "url" in _presign_originals:
            botocore.signers.generate_presigned_url = _presign_originals.pop("url")
        if "post" in _presign_originals:
            botocore.signers.generate_presigned_post = _presign_originals.pop("post")
