"""$disconnect (best effort in API Gateway: the lease sweep, 410 cleanup and the record's TTL cover the rest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import sessions
from chat.callers import caller_from
from chat.observability import instrumented


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sessions.disconnect(caller_from(event))
    return {"statusCode": 200}
