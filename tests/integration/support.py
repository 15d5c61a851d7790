"""Small fakes and builders for driving the real handlers against moto."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

import boto3

from chat.config import table_name
from chat.push import Gone, Throttled
from chat.topology import TABLES
from local.iam import acting_as
from local.lambdas import LambdaContext, load_handler


def invoke(function: str, event: dict[str, Any]) -> Any:
    """One invocation of a topology function, as Lambda runs it: its AWS calls are held to its role."""
    with acting_as(function):
        return load_handler(function)(event, LambdaContext.of(function))


def connection_record(user_id: str, connection_id: str) -> Any:
    """The stored Connections item (a ConnectionModel), or None: what a test checks is what is stored."""
    from chat.store.models import ConnectionModel

    try:
        return ConnectionModel.get(user_id, connection_id, consistent_read=True)
    except ConnectionModel.DoesNotExist:
        return None


class FakePoster:
    """Stands in for the @connections API: records posts, answers 410 for gone ids and 429 on demand."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.gone: set[str] = set()
        self.throttle: dict[str, int] = defaultdict(int)  # connection id -> how many 429s before success
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.attempts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.attempts[connection_id] += 1
            if connection_id in self.gone:
                raise Gone(connection_id)
            if self.throttle[connection_id] > 0:
                self.throttle[connection_id] -= 1
                raise Throttled(connection_id)
            self.frames[connection_id].append(json.loads(data))

    def of_type(self, connection_id: str, frame_type: str) -> list[dict[str, Any]]:
        return [f for f in self.frames[connection_id] if f["type"] == frame_type]


def ws_event(
    route: str, connection_id: str, user_id: str, device_id: str, body: Any = None, raw: str | None = None
) -> dict[str, Any]:
    """An API Gateway WebSocket event as the integration receives it."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "requestId": uuid.uuid4().hex,
            "domainName": "test.execute-api.us-east-1.amazonaws.com",
            "stage": "test",
            "apiId": "test",
            "connectedAt": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"principalId": user_id, "userId": user_id, "deviceId": device_id},
        },
        "isBase64Encoded": False,
    }
    if raw is not None:
        event["body"] = raw
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


def post_confirmation_event(
    user_id: str, trigger_source: str = "PostConfirmation_ConfirmSignUp", email: str | None = None
) -> dict[str, Any]:
    """A Cognito post-confirmation trigger event, as in the Cognito developer guide's example."""
    attributes = {
        "sub": user_id,
        "cognito:user_status": "CONFIRMED",
        "email_verified": "true",
        "email": email or f"{user_id}@example.com",
    }
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_TestPool1",
        "userName": user_id,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "testclient"},
        "triggerSource": trigger_source,
        "request": {"userAttributes": attributes},
        "response": {},
    }


class StreamReader:
    """Reads a table's stream from moto and shapes the records into a Lambda stream event."""

    def __init__(self, logical_name: str) -> None:
        self._table = TABLES[logical_name]
        self._streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=table_name(self._table))[
            "Table"
        ]["LatestStreamArn"]
        self._arn = arn
        self._iterators: dict[str, str] = {}

    def read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            response = self._streams.get_records(ShardIterator=self._iterators[shard_id])
            self._iterators[shard_id] = response["NextShardIterator"]
            for record in response["Records"]:
                record = dict(record)
                record["eventSourceARN"] = self._arn
                record["dynamodb"] = _jsonable(record["dynamodb"])
                records.append(record)
        return records

    def event(self) -> dict[str, Any]:
        return {"Records": self.read()}


def _jsonable(value: Any) -> Any:
    """boto3 returns datetimes in stream records; Lambda delivers epoch seconds."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return value
