"""Who a WebSocket event comes from, as the authorizer stored it for the connection. Apart from the
route adapter (chat/api.py) so $connect and $disconnect read it without importing the frame models.
"""

from __future__ import annotations

from typing import Any

from chat.domain import Caller


def caller_from(event: dict[str, Any]) -> Caller:
    """The authenticated caller, as the authorizer stored it for this connection."""
    context = event["requestContext"]
    authorizer = context.get("authorizer") or {}
    return Caller(user_id=authorizer["userId"], device_id=authorizer["deviceId"], connection_id=context["connectionId"])


def token_expiry_from(event: dict[str, Any]) -> int | None:
    """When the token the connection was opened with expires (epoch s), as the authorizer told API Gateway
    (context values reach the integration as strings or numbers); None if it did not."""
    value = (event["requestContext"].get("authorizer") or {}).get("tokenExpiresAt")
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None
