"""Connection lifecycle: records follow sockets, vanished sockets are cleaned up, time limits hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from chat.clock import iso
from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, WsClient, is_message, unique


def connection_records(stack: Any, user_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.dynamodb().query(
        TableName="chat-Connections",
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
        ConsistentRead=True,
    )["Items"]
    return items


async def eventually(condition: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def connection_id(stack: Any, user_id: str, device_id: str) -> str:
    [conn] = [c for c in stack.connections() if (c["userId"], c["deviceId"]) == (user_id, device_id)]
    return str(conn["connectionId"])


async def test_connect_stores_the_connection_and_disconnect_removes_it(local_stack, ws_connect) -> None:
    bob = unique("bob")
    phone = await ws_connect(bob, "phone")
    await ws_connect(bob, "laptop")
    records = connection_records(local_stack, bob)
    assert sorted(r["connectionId"]["S"] for r in records) == sorted(
        connection_id(local_stack, bob, d) for d in ("phone", "laptop")
    )
    await phone.close()
    await eventually(lambda: len(connection_records(local_stack, bob)) == 1)


async def test_a_connection_gone_without_disconnect_is_removed_when_a_post_finds_it_gone(
    local_stack, ws_connect
) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone = await ws_connect(bob, "phone")
    await ws_connect(bob, "tablet")
    tablet = connection_id(local_stack, bob, "tablet")

    # API Gateway's $disconnect is best effort: here it never reaches the backend, an hour after the
    # tablet connected (a 410 within 30 s of $connect may just mean the handshake is still going on).
    local_stack.dynamodb().update_item(
        TableName="chat-Connections",
        Key={"userId": {"S": bob}, "connectionId": {"S": tablet}},
        UpdateExpression="SET connectedAt = :then",
        ExpressionAttributeValues={":then": {"S": iso(time.time() - 3600)}},
    )
    assert local_stack.drop_connection_silently(tablet)
    assert tablet in {r["connectionId"]["S"] for r in connection_records(local_stack, bob)}

    sent = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "m1", "body": {"text": "hi"}})
    await bob_phone.wait_for(is_message(sent["conversationId"], 1))  # the live device still gets it
    await eventually(lambda: tablet not in {r["connectionId"]["S"] for r in connection_records(local_stack, bob)})
    assert [r["connectionId"]["S"] for r in connection_records(local_stack, bob)] == [
        connection_id(local_stack, bob, "phone")
    ]


# ---- time limits, on a stack of their own with short ones

IDLE_S = 2.0
MAX_LIFE_S = 5.0


@pytest.fixture(scope="module")
def short_lived_stack() -> Iterator[LocalStackProcess]:
    with LocalStackProcess(
        idle_timeout_s=IDLE_S, max_connection_s=MAX_LIFE_S, log_path=ARTIFACTS / "local-stack-short-lived.log"
    ) as stack:
        yield stack


async def test_an_idle_connection_is_closed_and_its_record_removed(short_lived_stack) -> None:
    user = unique("idle")
    client = await WsClient.connect(short_lived_stack, user)
    started = time.monotonic()
    await asyncio.wait_for(client.ws.wait_closed(), IDLE_S + 5)
    assert time.monotonic() - started > IDLE_S - 0.5
    assert client.ws.close_code == 1001
    await eventually(lambda: connection_records(short_lived_stack, user) == [])


async def test_a_busy_connection_still_ends_at_its_maximum_life(short_lived_stack) -> None:
    client = await WsClient.connect(short_lived_stack, unique("busy"))
    started = time.monotonic()
    with pytest.raises((ConnectionClosed, AssertionError)):
        while True:  # a ping every half second keeps it from ever being idle
            reply = await client.request({"action": "ping"}, timeout=5)
            assert reply["type"] == "pong"
            await asyncio.sleep(0.5)
    lived = time.monotonic() - started
    assert MAX_LIFE_S - 0.5 < lived < MAX_LIFE_S + 5
    assert client.ws.close_code == 1001
