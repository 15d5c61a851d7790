"""Domain errors, each carrying the protocol error code it becomes on the wire."""

from __future__ import annotations


class ChatError(Exception):
    code = "internal"
    # Set on `rate_limited` only: when the same frame may succeed.
    retry_after_ms: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ChatError):
    code = "bad_request"


class UnknownAction(ChatError):
    code = "unknown_action"


class TooLarge(ChatError):
    code = "too_large"


class NotFound(ChatError):
    code = "not_found"


class Forbidden(ChatError):
    code = "forbidden"


class LimitExceeded(ChatError):
    code = "limit_exceeded"


class RateLimited(ChatError):
    """Too many frames: nothing was done; the same frame may succeed in `retry_after_ms` ms."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = max(1, retry_after_ms)


class Internal(ChatError):
    code = "internal"
