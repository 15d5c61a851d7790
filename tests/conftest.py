"""Shared by every suite: a safe AWS environment, the local stack, and a small WebSocket client.

Suites add their own fixtures in their own conftest.py (tests/integration: moto in-process).
"""

from __future__ import annotations

import os

# Before anything imports boto3: tests never reach a real AWS account, whatever the shell has.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
from chat.config import default_bucket_environment, default_table_environment  # noqa: E402  (no environment read)

for _name, _value in {**default_table_environment(), **default_bucket_environment()}.items():
    os.environ.setdefault(_name, _value)
from chat.topology import CONNECTION_LEASE_S, ENV_CONNECTION_LEASE_S  # noqa: E402

os.environ.setdefault(ENV_CONNECTION_LEASE_S, str(CONNECTION_LEASE_S))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
)

import asyncio  # noqa: E402
import json  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Protocol  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import pytest  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from chat import faults  # noqa: E402
from local import aws_calls, dynamodb_quirks, iam  # noqa: E402
from local.process import LocalStackProcess  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Every grant used and every call refused in this run, by this process and the local stacks it starts.
GRANT_LOG = ARTIFACTS / "grant-log.jsonl"

Frame = dict[str, Any]


class Stack(Protocol):
    """What tests use of a local stack (LocalStack in-process, or LocalStackProcess)."""

    http_url: str
    ws_url: str

    def token(self, user_id: str, ttl_s: int | None = None) -> str: ...
    def connections(self) -> list[dict[str, Any]]: ...
    def drop_connection_silently(self, connection_id: str) -> bool: ...
    def dynamodb(self) -> Any: ...


@pytest.fixture(scope="session", autouse=True)
def enforced_iam() -> Iterator[iam.Enforcer]:
    """Every AWS call a function makes in any test is held to its role in the synthesized template."""
    GRANT_LOG.parent.mkdir(parents=True, exist_ok=True)
    GRANT_LOG.unlink(missing_ok=True)
    os.environ[iam.ENV_GRANT_LOG] = str(GRANT_LOG)  # local stacks started from here log there too
    from infrastructure.template import synthesized_template

    enforcer = iam.enforce(iam.Policies.from_template(synthesized_template()))
    dynamodb_quirks.install()
    yield enforcer
    aws_calls.remove(dynamodb_quirks.INTERCEPTOR)
    iam.stop_enforcing()


@pytest.fixture
def ddb_quirks() -> Iterator[dynamodb_quirks.Quirks]:
    """DynamoDB's less kind answers, for the calls functions make in this test: `ddb_quirks.set(...)`."""
    yield dynamodb_quirks.quirks
    dynamodb_quirks.quirks.set()


@pytest.fixture
def inject_faults() -> Iterator[Callable[..., faults.Faults]]:
    """Faults (chat/faults.py) for what runs in this process in this test: `inject_faults("point=1x1")`.

    A local stack in its own process takes them from CHAT_FAULTS instead (see tests/e2e/test_faults_e2e.py).
    """
    yield faults.configure
    faults.configure()


# The session's stack answers as DynamoDB does under load, so every end-to-end test meets it: a share of
# each BatchGetItem unprocessed, Query pages cut at 16 KB, now and then a transaction cancelled by a
# conflicting one (local/dynamodb_quirks.py).
SESSION_STACK_QUIRKS = {
    "LOCAL_DDB_UNPROCESSED_KEYS": "0.3",
    "LOCAL_DDB_QUERY_PAGE_BYTES": str(16 * 1024),
    "LOCAL_DDB_TRANSACTION_CONFLICTS": "0.05",
}


# No rate limits on the session's stack: its tests (and a soak run on it) drive one user far faster than
# a person, and must never wait for a token or meet `rate_limited`. The limits themselves are tested
# on a stack of their own (tests/e2e/test_rate_limits_e2e.py) and in tests/integration.
SESSION_STACK_LIMITS = {"CHAT_RATE_LIMITS": "off"}


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStackProcess]:
    """The whole backend on 127.0.0.1 (own process): `.http_url`, `.ws_url`, `.token(user_id)`.

    Shared by the session: use unique user ids (see `uid`). Its log: test-artifacts/local-stack.log.
    """
    env = {**SESSION_STACK_QUIRKS, **SESSION_STACK_LIMITS}
    with LocalStackProcess(log_path=ARTIFACTS / "local-stack.log", env=env) as stack:
        yield stack


def unique(name: str) -> str:
    """A user id no other test uses (the session's stack keeps every user)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def uid() -> Callable[[str], str]:
    return unique


def ws_address(stack: Stack, token: str | None, device_id: str | None) -> str:
    query = {k: v for k, v in (("token", token), ("deviceId", device_id)) if v is not None}
    return f"{stack.ws_url}?{urlencode(query)}"


class WsClient:
    """One device's socket: keeps every frame it receives, and waits for those a test expects."""

    def __init__(self, ws: ClientConnection, user_id: str, device_id: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.device_id = device_id
        self.frames: list[Frame] = []
        self._taken: set[int] = set()
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, stack: Stack, user_id: str, device_id: str = "phone", token: str | None = None) -> WsClient:
        token = token or await asyncio.to_thread(stack.token, user_id)
        ws = await connect(ws_address(stack, token, device_id), max_size=None, open_timeout=30)
        return cls(ws, user_id, device_id)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                frame = json.loads(message)
                async with self._arrived:
                    self.frames.append(frame)
                    self._arrived.notify_all()
        except ConnectionClosed:
            pass
        finally:
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: Frame | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def request(self, frame: Frame, timeout: float = 15) -> Frame:
        """Sends a frame with a fresh requestId and returns the direct reply (or error) carrying it."""
        request_id = uuid.uuid4().hex
        await self.send({**frame, "requestId": request_id})
        return await self.wait_for(lambda f: f.get("requestId") == request_id, timeout)

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 15) -> Frame:
        """The first frame matching `predicate` not returned before (received earlier or later)."""

        def find() -> int | None:
            for i, frame in enumerate(self.frames):
                if i not in self._taken and predicate(frame):
                    return i
            return None

        async with self._arrived:
            try:
                async with asyncio.timeout(timeout):
                    while (index := find()) is None:
                        if self._reader.done():
                            raise AssertionError(f"{self} closed ({self.ws.close_code}) before the frame came")
                        await self._arrived.wait()
            except TimeoutError:
                raise AssertionError(f"{self}: no matching frame in {timeout} s; got {self.frames}") from None
        self._taken.add(index)
        return self.frames[index]

    def received(self, predicate: Callable[[Frame], bool]) -> list[Frame]:
        return [f for f in self.frames if predicate(f)]

    async def messages(self, conversation_id: str, count: int, timeout: float = 20) -> list[Frame]:
        """Waits until `count` distinct seqs of `message` arrived for the conversation; returns them all."""
        try:
            async with asyncio.timeout(timeout):
                while len({f["seq"] for f in self.received(is_message(conversation_id))}) < count:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            seqs = [f["seq"] for f in self.received(is_message(conversation_id))]
            raise AssertionError(f"{self}: {len(set(seqs))} of {count} messages in {timeout} s: {seqs}") from None
        return self.received(is_message(conversation_id))

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait([self._reader], timeout=5)

    def __repr__(self) -> str:
        return f"<WsClient {self.user_id}/{self.device_id}>"


def is_message(conversation_id: str | None = None, seq: int | None = None) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        return (
            frame.get("type") == "message"
            and (conversation_id is None or frame.get("conversationId") == conversation_id)
            and (seq is None or frame.get("seq") == seq)
        )

    return match


async def refused_status(stack: Stack, token: str | None, device_id: str | None, path: str | None = None) -> int | None:
    """The HTTP status refusing this handshake, or None if it was accepted."""
    address = ws_address(stack, token, device_id)
    if path is not None:
        address = address.replace("/ws?", f"{path}?", 1)
    try:
        async with connect(address, open_timeout=30):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.fixture
async def ws_connect(local_stack: LocalStackProcess) -> AsyncIterator[Callable[..., Awaitable[WsClient]]]:
    """`await ws_connect(user_id, device_id="phone", stack=None)`: a connected client, closed after the test."""
    opened: list[WsClient] = []

    async def open_client(user_id: str, device_id: str = "phone", stack: Stack | None = None) -> WsClient:
        client = await WsClient.connect(stack or local_stack, user_id, device_id)
        opened.append(client)
        return client

    yield open_client
    await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
