"""Domain errors, each carrying the protocol error code it becomes on the wire."""

from __future__ import annotations


class ChatError(Exception):
    code = "internal"

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
    code = "rate_limited"


class Internal(ChatError):
    code = "internal"
