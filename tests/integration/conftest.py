"""Integration tests: the real handlers against moto's DynamoDB and DynamoDB Streams."""

from __future__ import annotations

import importlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Chat")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from chat import push
from chat.auth.tokens import verifier_from_env
from chat.topology import FUNCTIONS, route_for
from local import moto_patches
from local.issuer import LocalIssuer
from local.schema import create_tables
from tests.integration.support import FakePoster, LambdaContext, StreamReader, ws_event

_moto_lock = threading.Lock()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # moto's in-memory backend is not thread-safe; DynamoDB applies each request atomically, so
    # serializing requests gives concurrent tests the real semantics of conditions and transactions.
    original = DynamoHandler.call_action

    def serialized(self: DynamoHandler) -> Any:
        with _moto_lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", serialized)
    # moto swaps whole tables (and their stream shards) back on a cancelled transaction, which
    # silences open shard iterators; the local stack's rollback restores only the touched items.
    moto_patches.apply()
    try:
        with mock_aws():
            create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            yield
    finally:
        moto_patches.restore()


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    issuer = LocalIssuer(tmp_path_factory.mktemp("issuer"))
    os.environ.update(issuer.env())
    verifier_from_env.cache_clear()
    return issuer


@pytest.fixture
def poster(monkeypatch: pytest.MonkeyPatch) -> FakePoster:
    fake = FakePoster()
    monkeypatch.setattr(push, "default_poster", lambda: fake)
    return fake


class Device:
    """One connected device of a user, driving the real handlers."""

    def __init__(self, user_id: str, device_id: str) -> None:
        self.user_id = user_id
        self.device_id = device_id
        self.connection_id = uuid.uuid4().hex[:12] + "="

    def connect(self) -> Device:
        from functions.connect.handler import handler

        assert handler(ws_event("$connect", self.connection_id, self.user_id, self.device_id), LambdaContext()) == {
            "statusCode": 200
        }
        return self

    def disconnect(self) -> None:
        from functions.disconnect.handler import handler

        handler(ws_event("$disconnect", self.connection_id, self.user_id, self.device_id), LambdaContext())

    def call(self, route_handler: Any, frame: Any = None, raw: str | None = None) -> dict[str, Any] | None:
        """Sends one frame to a route handler; returns the direct reply frame, if any."""
        route = frame.get("action", "$default") if isinstance(frame, dict) else "$default"
        event = ws_event(route, self.connection_id, self.user_id, self.device_id, body=frame, raw=raw)
        response = route_handler(event, LambdaContext())
        assert response["statusCode"] == 200
        return json.loads(response["body"]) if "body" in response else None

    def do(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Sends a frame to the function its route maps to in the topology, as API Gateway would."""
        return self.call(handler_for(frame["action"]), frame)

    def send(self, text: str = "hi", client_msg_id: str | None = None, **target: str) -> dict[str, Any]:
        from functions.send.handler import handler

        frame = {"action": "send", "clientMsgId": client_msg_id or uuid.uuid4().hex, "body": {"text": text}, **target}
        reply = self.call(handler, frame)
        assert reply is not None
        return reply


def handler_for(action: str) -> Any:
    function = FUNCTIONS[route_for(action).function]
    module, attribute = function.handler.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


def drain(reader: StreamReader, function: str) -> dict[str, Any]:
    """Processes what the stream holds with the topology's function for it."""
    return handler_for_function(function)(reader.event(), LambdaContext())  # type: ignore[no-any-return]


def handler_for_function(name: str) -> Any:
    module, attribute = FUNCTIONS[name].handler.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


@pytest.fixture
def device(aws: None, issuer: LocalIssuer, poster: FakePoster) -> Any:
    def make(user_id: str, device_id: str = "phone") -> Device:
        return Device(user_id, device_id).connect()

    return make


@pytest.fixture
def messages_stream(aws: None) -> StreamReader:
    return StreamReader("Messages")


def run_fanout(reader: StreamReader) -> dict[str, Any]:
    return drain(reader, "fanout")


@pytest.fixture
def receipts_stream(aws: None) -> StreamReader:
    return StreamReader("Receipts")
