"""$connect authorizer: the token's subject becomes the connection's user, for every later frame."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat.auth import InvalidHandshake, verify_handshake
from chat.observability import instrumented, logger


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    try:
        identity = verify_handshake(query.get("token"), query.get("deviceId"))
    except InvalidHandshake as exc:
        logger.info("handshake refused", extra={"reason": str(exc)})
        # API Gateway answers this exact message with 401.
        raise Exception("Unauthorized") from None
    session: dict[str, str | int] = {"userId": identity.user_id, "deviceId": identity.device_id}
    if identity.expires_at is not None:
        # $connect stores it on the connection, which is closed once it passes (chat/liveness.py).
        session["tokenExpiresAt"] = identity.expires_at
    return {
        "principalId": identity.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": session,
    }
