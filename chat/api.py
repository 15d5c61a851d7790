"""The route adapter: the one place where WebSocket events become domain calls and domain errors
become `error` frames. Which action goes where is chat/actions.py's table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import config, rate_limits
from chat.actions import parse_client_frame, served_by
from chat.callers import caller_from
from chat.domain import Caller
from chat.errors import ChatError, Internal, UnknownAction
from chat.observability import instrumented, logger
from chat.protocol import ClientFrame, ErrorOut, ServerFrame, frame_context

Serve = Callable[[Caller, Any], ServerFrame | None]
LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def reply(frame: ServerFrame | None) -> dict[str, Any]:
    """A route response: API Gateway sends `body` back on the same socket."""
    if frame is None:
        return {"statusCode": 200}
    return {"statusCode": 200, "body": frame.json_text()}


def error_frame(error: ChatError, raw: str | None) -> ErrorOut:
    return ErrorOut(
        code=error.code,  # type: ignore[arg-type]
        message=error.message,
        retryAfterMs=error.retry_after_ms,
        **frame_context(raw),
    )


def handle_frame(event: dict[str, Any], served: dict[str, Serve]) -> dict[str, Any]:
    raw = event.get("body")
    try:
        frame: ClientFrame = parse_client_frame(raw)
        action: str = frame.action  # type: ignore[attr-defined]
        serve = served.get(action)
        if serve is None:
            raise UnknownAction(f"action {action!r} is not served here")
        caller = caller_from(event)
        logger.append_keys(action=action, userId=caller.user_id)
        # Every action's limit (chat/actions.py), here and nowhere else: a refused frame does nothing.
        rate_limits.take_token(caller.user_id, action)
        result = serve(caller, frame)
        if result is not None and frame.requestId and "requestId" in type(result).model_fields:
            result = result.model_copy(update={"requestId": frame.requestId})
        return reply(result)
    except ChatError as exc:
        logger.info("frame refused", extra={"code": exc.code, "reason": exc.message})
        return reply(error_frame(exc, raw))
    except Exception:
        logger.exception("frame failed")
        return reply(error_frame(Internal("something went wrong; please retry"), raw))


def websocket_handler(served: dict[str, Serve]) -> LambdaHandler:
    """A Lambda handler for WebSocket frames of these actions (any other action: `unknown_action`)."""

    @instrumented
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handle_frame(event, served)

    return handler


def route_handler(function: str) -> LambdaHandler:
    """The Lambda handler of a route function: every action chat/actions.py gives it.

    Built at cold start: the settings are validated and the domain callables imported then.
    """
    config.settings()
    return websocket_handler(served_by(function))
