"""Integration tests: the real handlers against moto's DynamoDB and DynamoDB Streams."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Chat")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

from moto import mock_aws

from chat import config, notifiers, push
from chat.auth.tokens import verifier_from_env
from chat.topology import QUEUES, SIGNUP, route_for
from infrastructure.template import synthesized_template
from local import moto_patches
from local.buckets import create_buckets
from local.events import (
    LOCAL_API,
    authorized_connection,
    connect_event,
    disconnect_event,
    message_event,
    post_confirmation_event,
    select_route,
)
from local.issuer import LocalIssuer
from local.queues import QueuePoller, create_queues
from local.schema import create_tables
from local.streams import StreamReader
from tests.integration.support import FakePoster, invoke


@pytest.fixture
def aws() -> Iterator[None]:
    # moto as the local stack runs it: one request at a time, as DynamoDB applies each atomically (so
    # concurrent tests get the real semantics of conditions and transactions), and a cancelled
    # transaction restores only the items it touched (moto's own swaps whole tables and their stream
    # shards back, which silences open shard iterators).
    moto_patches.apply()
    try:
        with mock_aws(), pytest.MonkeyPatch.context() as env:
            create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            create_buckets(boto3.client("s3", region_name="us-east-1"))
            urls = create_queues(boto3.client("sqs", region_name="us-east-1"), synthesized_template())
            for queue in QUEUES:
                env.setenv(queue.env, urls[queue.logical_name])
            yield
    finally:
        moto_patches.restore()


@pytest.fixture(autouse=True)
def rate_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Rate limits are off here: these tests drive one user far faster than a person can (a loop of
    sends, 150 devices). `rate_limits("send=2/s")` sets CHAT_RATE_LIMITS for the rest of the test
    (`""` for the declared defaults), as a cold start would read it."""

    def set_limits(spec: str) -> None:
        monkeypatch.setenv(config.ENV_RATE_LIMITS, spec)
        config.settings.cache_clear()

    set_limits("off")
    yield set_limits
    config.settings.cache_clear()


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


@pytest.fixture(autouse=True)
def notifier(monkeypatch: pytest.MonkeyPatch) -> notifiers.RecordingNotifier:
    """Push notifications are recorded, as the local stack records them (tests of SNS put their own)."""
    recording = notifiers.RecordingNotifier()
    monkeypatch.setattr(notifiers, "default_notifier", lambda: recording)
    return recording


class Device:
    """One connected device of a user, driving the real handlers."""

    def __init__(self, user_id: str, device_id: str) -> None:
        self.user_id = user_id
        self.device_id = device_id
        self.connection = authorized_connection(user_id, device_id)

    @property
    def connection_id(self) -> str:
        return self.connection.connection_id

    def sign_up(self) -> Device:
        """Confirms the user's account, as Cognito does before anyone can sign in (idempotent)."""
        sign_up(self.user_id)
        return self

    def connect(self) -> Device:
        assert invoke("connect", connect_event(LOCAL_API, self.connection)) == {"statusCode": 200}
        return self

    def vanish(self, poster: FakePoster, connected_s_ago: float = 3600) -> None:
        """The socket is gone without $disconnect, some time after it connected (posts answer 410)."""
        from chat.clock import iso
        from chat.store.models import ConnectionModel

        poster.gone.add(self.connection_id)
        with contextlib.suppress(ConnectionModel.DoesNotExist):
            row = ConnectionModel.get(self.user_id, self.connection_id, consistent_read=True)
            row.update(actions=[ConnectionModel.connected_at.set(iso(time.time() - connected_s_ago))])

    def disconnect(self) -> None:
        """The client closed the socket normally."""
        invoke("disconnect", disconnect_event(LOCAL_API, self.connection, 1000, ""))

    def call(self, function: str, frame: Any = None, raw: str | None = None) -> dict[str, Any] | None:
        """Sends one frame (`raw` text, else `frame` as JSON) to a function; returns the direct reply frame, if any."""
        body = json.dumps(frame) if raw is None else raw
        response = invoke(function, message_event(LOCAL_API, self.connection, select_route(body), body))
        assert response["statusCode"] == 200
        return json.loads(response["body"]) if "body" in response else None

    def do(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Sends a frame to the function its route maps to in the topology, as API Gateway would."""
        return self.call(route_for(frame["action"]).function, frame)

    def send(self, text: str = "hi", client_msg_id: str | None = None, **target: str) -> dict[str, Any]:
        frame = {"action": "send", "clientMsgId": client_msg_id or uuid.uuid4().hex, "body": {"text": text}, **target}
        reply = self.call("send", frame)
        deadline = time.monotonic() + 10
        while reply is None and time.monotonic() < deadline:
            # Queued for a busy conversation: the sequencer answers on this socket, as a client sees it
            # (another thread's poll may hold the conversation's batch: then wait for it).
            if not run_sequencer():
                time.sleep(0.01)
            reply = self.answer_to(frame["clientMsgId"])
        assert reply is not None
        return reply

    def answer_to(self, client_msg_id: str) -> dict[str, Any] | None:
        """The `sent` or `error` pushed to this socket for a send, if any (the last one)."""
        frames = cast(FakePoster, push.default_poster()).frames[self.connection_id]
        answers = [f for f in frames if f["type"] in ("sent", "error") and f.get("clientMsgId") == client_msg_id]
        return answers[-1] if answers else None


def sign_up(user_id: str, trigger_source: str = "PostConfirmation_ConfirmSignUp") -> dict[str, Any]:
    """Runs the topology's sign-up function (Cognito's post-confirmation trigger); returns its result."""
    result: dict[str, Any] = invoke(SIGNUP, post_confirmation_event(LOCAL_API, user_id, trigger_source))
    return result


def run_sequencer() -> int:
    """Hands what the Sends queue holds now to the sequencer, batch after batch, as Lambda's SQS
    mapping does; returns how many batches it took."""
    (queue,) = (q for q in QUEUES if q.logical_name == "Sends")
    poller = QueuePoller(queue, os.environ[queue.env], invoke, None, "us-east-1")
    batches = 0
    while poller.poll_once():
        batches += 1
    return batches


def drain(reader: StreamReader, function: str) -> dict[str, Any]:
    """Processes what the stream holds now with the topology's function for it."""
    assert function == reader.stream.function
    return invoke(function, reader.event())  # type: ignore[no-any-return]


@pytest.fixture
def device(aws: None, issuer: LocalIssuer, poster: FakePoster) -> Any:
    def make(user_id: str, device_id: str = "phone") -> Device:
        # As in AWS: the account is confirmed (signup) before any device can connect.
        return Device(user_id, device_id).sign_up().connect()

    return make


@pytest.fixture
def messages_stream(aws: None) -> StreamReader:
    return StreamReader.of_table("Messages")


def run_fanout(reader: StreamReader) -> dict[str, Any]:
    return drain(reader, "fanout")


@pytest.fixture
def notify_stream(aws: None) -> StreamReader:
    """The Messages stream as the notify function's mapping reads it."""
    return StreamReader.of_table("Messages", function="notify")


@pytest.fixture
def receipts_stream(aws: None) -> StreamReader:
    return StreamReader.of_table("Receipts")
