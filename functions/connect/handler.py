"""$connect: remember which user and device this connection belongs to, and until when it counts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import sessions
from chat.callers import caller_from, token_expiry_from
from chat.observability import instrumented, logger

# What the function answers when the user has too many connections: any status but 2xx refuses the
# handshake (locally the client gets this one).
TOO_MANY_CONNECTIONS = 429


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        sessions.connect(caller_from(event), token_expiry_from(event))
    except sessions.TooManyConnections as exc:
        logger.info("handshake refused", extra={"reason": str(exc)})
        return {"statusCode": TOO_MANY_CONNECTIONS}
    return {"statusCode": 200}
