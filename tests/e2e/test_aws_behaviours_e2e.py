"""What API Gateway and Lambda do that a kinder emulation would hide, on stacks of their own:
@connections answers 410 while a device's $connect is still running, and an invocation that runs
past its timeout fails as a failed integration, its late result never delivered."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest

from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, WsClient, is_message, unique
from tests.e2e.support import send_in, send_to

# Long enough for the first fan-out's POST to land while $connect still runs: that fan-out cold-starts
# in the same process as the other consumers of the Messages stream (notify), which took it past 3 s.
CONNECT_DELAY_S = 8.0
SEND_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def slow_connect_stack() -> Iterator[LocalStackProcess]:
    """Every $connect takes CONNECT_DELAY_S more after storing its connection record."""
    log = ARTIFACTS / "local-stack-slow-connect.log"
    with LocalStackProcess(log_path=log, env={"LOCAL_FUNCTION_DELAYS": f"connect={CONNECT_DELAY_S}"}) as stack:
        yield stack


@pytest.fixture(scope="module")
def send_timeout_stack() -> Iterator[LocalStackProcess]:
    """send's timeout is SEND_TIMEOUT_S, and its first invocation overruns it after storing the message."""
    log = ARTIFACTS / "local-stack-send-timeout.log"
    env = {"LOCAL_FUNCTION_TIMEOUTS": f"send={SEND_TIMEOUT_S}", "LOCAL_FUNCTION_DELAYS": "send=2x1"}
    with LocalStackProcess(log_path=log, env=env) as stack:
        yield stack


def open_connections(stack: LocalStackProcess, user_id: str) -> list[str]:
    return [c["connectionId"] for c in stack.connections() if c["userId"] == user_id]


async def test_a_message_pushed_while_the_device_is_still_connecting_does_not_cut_it_off(
    slow_connect_stack: LocalStackProcess,
) -> None:
    stack = slow_connect_stack
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await WsClient.connect(stack, alice)
    bob_token = await asyncio.to_thread(stack.token, bob)

    # Given bob's phone whose $connect has stored its record but not returned yet
    bob_connecting = asyncio.create_task(WsClient.connect(stack, bob, token=bob_token))
    await asyncio.sleep(1.0)
    assert not bob_connecting.done()

    # When alice writes to him in that moment (the fan-out's POST to the phone answers 410)
    sent = await alice_phone.request(send_to(bob, "while you were connecting"))
    assert sent["type"] == "sent", sent
    bob_phone = await bob_connecting

    # Then the phone is still bob's: it gets the next message live and the first by sync
    second = await alice_phone.request(send_in(sent["conversationId"], "now you are here"))
    assert second["type"] == "sent", second
    live = await bob_phone.wait_for(is_message(sent["conversationId"], second["seq"]))
    assert live["body"]["text"] == "now you are here"
    await bob_phone.send({"action": "sync", "cursors": {}})
    await bob_phone.messages(sent["conversationId"], 2)
    (connection_id,) = open_connections(stack, bob)
    assert stack.log_path is not None
    log = stack.log_path.read_text()
    assert f"POST {connection_id}: 410, its $connect has not completed" in log
    await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_a_send_that_times_out_after_storing_is_a_failed_integration_and_a_retry_is_idempotent(
    send_timeout_stack: LocalStackProcess,
) -> None:
    stack = send_timeout_stack
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)
    frame = send_to(bob, "stored, then too slow")

    # When the send function stores the message and then runs past its timeout
    await alice_phone.send(frame)
    reply = await alice_phone.wait_for(lambda f: "message" in f and "type" not in f)

    # Then alice gets what API Gateway sends for a failed integration, and never the late `sent`
    assert reply["message"] == "Internal server error" and "connectionId" in reply, reply
    message = await bob_phone.wait_for(is_message())  # stored before the timeout: fanned out
    await asyncio.sleep(3 * SEND_TIMEOUT_S)
    assert alice_phone.received(lambda f: f.get("type") == "sent") == []

    # And her retry with the same clientMsgId answers the stored seq; bob has the message once
    retry = await alice_phone.request(frame)
    assert (retry["type"], retry["seq"], retry["conversationId"]) == ("sent", 1, message["conversationId"])
    await asyncio.sleep(0.5)
    assert len(bob_phone.received(is_message(message["conversationId"]))) == 1
    await asyncio.gather(alice_phone.close(), bob_phone.close())


def test_health_says_which_behaviours_are_switched_on(send_timeout_stack: LocalStackProcess) -> None:
    with urllib.request.urlopen(f"{send_timeout_stack.http_url}/health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok"
    assert health["behaviours"] == [f"function timeout send={SEND_TIMEOUT_S:g}s", "function delay send=2s x1"]
