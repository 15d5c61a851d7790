"""$connect: remember which user and device this connection belongs to."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import sessions
from chat.api import caller_from, token_expiry_from
from chat.observability import instrumented


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sessions.connect(caller_from(event), token_expiry_from(event))
    return {"statusCode": 200}
