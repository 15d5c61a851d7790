"""Lambda events shaped like API Gateway's (WebSocket API), Cognito's and Lambda's DynamoDB stream events.

The one place events are built: the local gateway and stream pollers send these to the functions,
and the integration tests drive the functions with the same events, for connections that have no
socket (`authorized_connection`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from chat.topology import route_for
from local.iam import ACCOUNT_ID, LOCAL_API_ID, REGION


def new_id(random_bytes: int = 11) -> str:
    """An id like API Gateway's connection and request ids (e.g. "L0SM9cOFvHcCIhw=")."""
    return base64.urlsafe_b64encode(os.urandom(random_bytes)).decode().rstrip("=") + "="


def now_ms() -> int:
    return int(time.time() * 1000)


def request_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@dataclass(frozen=True)
class ApiInfo:
    api_id: str
    stage: str
    domain_name: str
    region: str
    account_id: str

    def method_arn(self, route_key: str) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/{route_key}"


# The local gateway's API, unless the stack names another domain.
LOCAL_API = ApiInfo(api_id=LOCAL_API_ID, stage="local", domain_name="127.0.0.1", region=REGION, account_id=ACCOUNT_ID)


@dataclass
class ConnectionInfo:
    """What API Gateway knows of one connection, from its handshake."""

    connection_id: str
    source_ip: str
    user_agent: str
    headers: dict[str, str]
    query: dict[str, str]
    multi_query: dict[str, list[str]]
    connected_at: int = field(default_factory=now_ms)
    authorizer: dict[str, Any] = field(default_factory=dict)


def connection_from_handshake(
    query_string: str = "",
    *,
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    headers: Mapping[str, str] | None = None,
    connection_id: str | None = None,
) -> ConnectionInfo:
    """A new connection as API Gateway knows it from its handshake request, before the authorizer ran."""
    multi_query = parse_qs(query_string, keep_blank_values=True)
    return ConnectionInfo(
        connection_id=connection_id or new_id(),
        source_ip=source_ip,
        user_agent=user_agent,
        headers=dict(headers or {}),
        query={k: v[-1] for k, v in multi_query.items()},
        multi_query=multi_query,
    )


def authorized_connection(user_id: str, device_id: str, connection_id: str | None = None) -> ConnectionInfo:
    """A connection the authorizer admitted as `user_id` on `device_id` (the context it returns, and its
    principal), as the gateway records it: the connection of every later event, here without a socket."""
    connection = connection_from_handshake(connection_id=connection_id)
    connection.authorizer = {"userId": user_id, "deviceId": device_id, "principalId": user_id}
    return connection


def select_route(message: str | bytes) -> str:
    """The route API Gateway selects for a frame on `$request.body.action`: the action's, else `$default`."""
    if isinstance(message, str):
        with contextlib.suppress(ValueError, RecursionError):  # not JSON, or nested deeper than a parser goes
            frame = json.loads(message)
            if isinstance(frame, dict) and isinstance(frame.get("action"), str):
                return route_for(frame["action"]).key
    return "$default"


def _request_context(api: ApiInfo, conn: ConnectionInfo, route_key: str, event_type: str) -> dict[str, Any]:
    at = now_ms()
    request_id = new_id(6)
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(at),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": conn.connected_at,
        "requestTimeEpoch": at,
        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": conn.connection_id,
        "apiId": api.api_id,
    }


def _multi_headers(headers: dict[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def authorizer_event(api: ApiInfo, conn: ConnectionInfo) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": api.method_arn("$connect"),
        "headers": dict(conn.headers),
        "multiValueHeaders": _multi_headers(conn.headers),
        "queryStringParameters": dict(conn.query),
        "multiValueQueryStringParameters": {k: list(v) for k, v in conn.multi_query.items()},
        "stageVariables": {},
        "requestContext": _request_context(api, conn, "$connect", "CONNECT"),
    }


def connect_event(api: ApiInfo, conn: ConnectionInfo) -> dict[str, Any]:
    context = _request_context(api, conn, "$connect", "CONNECT")
    context["authorizer"] = dict(conn.authorizer)
    return {
        "headers": dict(conn.headers),
        "multiValueHeaders": _multi_headers(conn.headers),
        "queryStringParameters": dict(conn.query),
        "multiValueQueryStringParameters": {k: list(v) for k, v in conn.multi_query.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def message_event(
    api: ApiInfo, conn: ConnectionInfo, route_key: str, body: str, is_base64: bool = False
) -> dict[str, Any]:
    context = _request_context(api, conn, route_key, "MESSAGE")
    context["messageId"] = new_id(6)
    context["authorizer"] = dict(conn.authorizer)
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def disconnect_event(api: ApiInfo, conn: ConnectionInfo, status_code: int, reason: str) -> dict[str, Any]:
    context = _request_context(api, conn, "$disconnect", "DISCONNECT")
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    context["authorizer"] = dict(conn.authorizer)
    headers = {"Host": api.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": _multi_headers(headers),
        "requestContext": context,
        "isBase64Encoded": False,
    }


def post_confirmation_event(
    api: ApiInfo, user_id: str, trigger_source: str = "PostConfirmation_ConfirmSignUp"
) -> dict[str, Any]:
    """Cognito's post-confirmation trigger event for a newly confirmed account whose `sub` is `user_id`
    (`trigger_source`: PostConfirmation_ConfirmForgotPassword when a forgotten password was reset).

    Locally the user id is the name typed at sign-in; in a user pool signing in with email it is a
    UUID, also the username. No email locally: nothing reads it.
    """
    return {
        "version": "1",
        "region": api.region,
        "userPoolId": f"{api.region}_local",
        "userName": user_id,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "chat-local"},
        "triggerSource": trigger_source,
        "request": {"userAttributes": {"sub": user_id, "cognito:user_status": "CONFIRMED"}},
        "response": {},
    }


def scheduled_event(api: ApiInfo, rule_name: str) -> dict[str, Any]:
    """What an EventBridge schedule rule sends its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": api.account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": api.region,
        "resources": [f"arn:aws:events:{api.region}:{api.account_id}:rule/{rule_name}"],
        "detail": {},
    }


def _lambda_attribute_value(value: Any) -> Any:
    """boto3 returns binary attributes as bytes; Lambda's event carries them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _lambda_attribute_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_attribute_value(v) for v in value]
    return value


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A dynamodbstreams GetRecords record (as boto3 parses it) -> a Lambda event record."""
    data = record["dynamodb"]
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created_s: float = float(int(created.timestamp()))
    else:
        created_s = float(created or int(time.time()))
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": created_s, "Keys": _lambda_attribute_value(data["Keys"])}
    for image in ("NewImage", "OldImage"):
        if image in data:
            dynamodb[image] = _lambda_attribute_value(data[image])
    dynamodb.update(
        SequenceNumber=data["SequenceNumber"], SizeBytes=data.get("SizeBytes", 0), StreamViewType=data["StreamViewType"]
    )
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        out["userIdentity"] = record["userIdentity"]
    return out
