"""Presence that tells the truth, over real sockets, on a stack of its own with a short lease and a sweep
every ~1 s: a vanished socket shows its user offline once its lease ends, a pinging one stays, and a
socket is closed when its token expires."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from chat.clock import iso
from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, WsClient, unique
from tests.e2e.support import of_type, send_to

LEASE_S = 8  # a ping renews it once less than 7/12 of it (4.7 s) is left
PING_EVERY_S = 1.0
SCHEDULE_SCALE = 0.02  # the sweep every 1.2 s instead of every minute
# Generous bounds for what the lease promises: a lease, a sweep period, the stream, a loaded machine.
WITHIN_S = LEASE_S + 20


@pytest.fixture(scope="module")
def short_lease_stack() -> Iterator[LocalStackProcess]:
    env = {"LOCAL_CONNECTION_LEASE_S": str(LEASE_S), "LOCAL_SCHEDULE_SCALE": str(SCHEDULE_SCALE)}
    with LocalStackProcess(log_path=ARTIFACTS / "local-stack-short-lease.log", env=env) as stack:
        yield stack


def record(stack: LocalStackProcess, user_id: str, connection_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        stack.dynamodb()
        .get_item(
            TableName="chat-Connections",
            Key={"userId": {"S": user_id}, "connectionId": {"S": connection_id}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item


def connection_id(stack: LocalStackProcess, user_id: str) -> str:
    [conn] = [c for c in stack.connections() if c["userId"] == user_id]
    return str(conn["connectionId"])


async def keep_pinging(client: WsClient) -> None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await client.send({"action": "ping"})
            await asyncio.sleep(PING_EVERY_S)


def offline(user_id: str) -> Any:
    return of_type("presence", userId=user_id, online=False)


class Pinging:
    """Clients that ping as the protocol asks (or the sweep closes them too), until the test ends."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, client: WsClient) -> asyncio.Task[None]:
        task = asyncio.create_task(keep_pinging(client))
        self.tasks.append(task)
        return task


@pytest.fixture
async def pinging() -> Any:
    keeper = Pinging()
    yield keeper
    for task in keeper.tasks:
        task.cancel()


async def watching(stack: LocalStackProcess, watched: str, pinging: Pinging) -> WsClient:
    """A pinging user who shares a chat with `watched` and subscribed to their presence (told: online)."""
    watcher = await WsClient.connect(stack, unique("watcher"))
    pinging.start(watcher)
    await watcher.request(send_to(watched, "hi"))
    await watcher.send({"action": "subscribePresence", "userIds": [watched]})
    await watcher.wait_for(of_type("presence", userId=watched, online=True))
    return watcher


async def test_health_says_the_lease_and_the_sweep_are_short(short_lease_stack: LocalStackProcess) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{short_lease_stack.http_url}/health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["behaviours"] == [f"connection lease {LEASE_S}s", f"schedule sweep every {60 * SCHEDULE_SCALE:g}s"]


async def test_a_socket_gone_without_disconnect_shows_its_user_offline_when_its_lease_ends(
    short_lease_stack: LocalStackProcess, pinging: Pinging
) -> None:
    stack = short_lease_stack
    bob = unique("bob")
    bob_phone = await WsClient.connect(stack, bob)
    alice_phone = await watching(stack, bob, pinging)
    bob_connection = connection_id(stack, bob)
    stored = record(stack, bob, bob_connection)
    assert stored is not None
    lease_ends = int(stored["liveUntil"]["N"])

    # bob's socket vanishes: API Gateway never runs $disconnect, and he never pings
    assert stack.drop_connection_silently(bob_connection)

    gone = await alice_phone.wait_for(offline(bob), timeout=WITHIN_S)
    assert gone["lastSeen"] == iso(lease_ends)  # when the connection stopped counting
    assert time.time() >= lease_ends
    assert record(stack, bob, bob_connection) is None
    await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_a_pinging_socket_outlives_many_leases_and_its_close_is_its_last_seen(
    short_lease_stack: LocalStackProcess, pinging: Pinging
) -> None:
    stack = short_lease_stack
    bob = unique("bob")
    bob_phone = await WsClient.connect(stack, bob)
    alice_phone = await watching(stack, bob, pinging)
    bob_pings = pinging.start(bob_phone)

    # Three leases long, bob stays: his socket open, his record there, nothing pushed to alice
    bob_connection = connection_id(stack, bob)
    first = record(stack, bob, bob_connection)
    await asyncio.sleep(3 * LEASE_S)
    assert not bob_pings.done()
    renewed = record(stack, bob, bob_connection)
    assert first is not None and renewed is not None
    assert int(renewed["liveUntil"]["N"]) > int(first["liveUntil"]["N"]) + 2 * LEASE_S
    assert alice_phone.received(offline(bob)) == []
    assert bob_phone.ws.close_code is None

    # He closes it himself: offline, last seen then (to the second), not when a lease would end
    bob_pings.cancel()
    closed_at = int(time.time())
    await bob_phone.close()
    gone = await alice_phone.wait_for(offline(bob), timeout=WITHIN_S)
    assert iso(closed_at - 1) <= gone["lastSeen"] <= iso(time.time())
    await alice_phone.close()


async def test_a_socket_is_closed_when_its_token_expires(
    short_lease_stack: LocalStackProcess, pinging: Pinging
) -> None:
    stack = short_lease_stack
    bob = unique("bob")
    token = await asyncio.to_thread(stack.token, bob, 5)  # GET /dev/token?userId=…&ttlS=5
    expires_at = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    bob_phone = await WsClient.connect(stack, bob, token=token)
    alice_phone = await watching(stack, bob, pinging)
    bob_connection = connection_id(stack, bob)
    stored = record(stack, bob, bob_connection)
    assert stored is not None and int(stored["tokenExpiresAt"]["N"]) == expires_at
    pinging.start(bob_phone)  # pings cannot keep it past its token

    # The server closes the socket once the token expired (DELETE @connections)
    await asyncio.wait_for(bob_phone.ws.wait_closed(), timeout=WITHIN_S)
    assert time.time() >= expires_at
    assert bob_phone.ws.close_code == 1000

    # and bob is offline, last seen when his token expired
    gone = await alice_phone.wait_for(offline(bob), timeout=WITHIN_S)
    assert gone["lastSeen"] == iso(expires_at)
    assert record(stack, bob, bob_connection) is None
    log = stack.log_path.read_text() if stack.log_path else ""
    assert "swept lapsed connections" in log
    await alice_phone.close()
