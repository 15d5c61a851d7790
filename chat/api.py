"""The one place where WebSocket events become domain calls and domain errors become `error` frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat.domain import Caller
from chat.errors import ChatError, Internal, UnknownAction
from chat.observability import logger, metrics
from chat.protocol import ErrorOut, _ClientFrame, _ServerFrame, frame_context, parse_client_frame

Action = Callable[[Caller, Any], _ServerFrame | None]
LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def caller_from(event: dict[str, Any]) -> Caller:
    """The authenticated caller, as the authorizer stored it for this connection."""
    context = event["requestContext"]
    authorizer = context.get("authorizer") or {}
    return Caller(user_id=authorizer["userId"], device_id=authorizer["deviceId"], connection_id=context["connectionId"])


def reply(frame: _ServerFrame | None) -> dict[str, Any]:
    """A route response: API Gateway sends `body` back on the same socket."""
    if frame is None:
        return {"statusCode": 200}
    return {"statusCode": 200, "body": frame.json_text()}


def error_frame(error: ChatError, raw: str | None) -> ErrorOut:
    return ErrorOut(code=error.code, message=error.message, **frame_context(raw))  # type: ignore[arg-type]


def handle_frame(event: dict[str, Any], actions: dict[str, Action]) -> dict[str, Any]:
    raw = event.get("body")
    try:
        frame: _ClientFrame = parse_client_frame(raw)
        action = actions.get(frame.action)  # type: ignore[attr-defined]
        if action is None:
            raise UnknownAction(f"action {frame.action!r} is not served here")  # type: ignore[attr-defined]
        caller = caller_from(event)
        logger.append_keys(action=frame.action, userId=caller.user_id)  # type: ignore[attr-defined]
        result = action(caller, frame)
        if result is not None and frame.requestId and "requestId" in type(result).model_fields:
            result = result.model_copy(update={"requestId": frame.requestId})
        return reply(result)
    except ChatError as exc:
        logger.info("frame refused", extra={"code": exc.code, "reason": exc.message})
        return reply(error_frame(exc, raw))
    except Exception:
        logger.exception("frame failed")
        return reply(error_frame(Internal("something went wrong; please retry"), raw))


def websocket_handler(actions: dict[str, Action]) -> LambdaHandler:
    """A Lambda handler for routes whose frames the given actions serve."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handle_frame(event, actions)

    return handler
