"""Abuse limits over real sockets, on a stack of their own: a send bucket small enough to meet
(CHAT_RATE_LIMITS), and the most connections a user may have open."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest

from chat.protocol import MAX_CONNECTIONS_PER_USER
from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, WsClient, is_message, refused_status, unique
from tests.e2e.support import send_to

SEND_LIMIT = "send=2/s"  # 2 at once, then one every 500 ms


@pytest.fixture(scope="module")
def limited_stack() -> Iterator[LocalStackProcess]:
    log = ARTIFACTS / "local-stack-rate-limits.log"
    with LocalStackProcess(log_path=log, env={"CHAT_RATE_LIMITS": SEND_LIMIT}) as stack:
        yield stack


async def test_a_send_over_the_limit_waits_retry_after_and_is_stored_once(limited_stack: LocalStackProcess) -> None:
    stack = limited_stack
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)
    try:
        first = await alice_phone.request(send_to(bob, "one"))
        assert first["type"] == "sent", first
        conversation = first["conversationId"]
        frames = [send_to(bob, text) for text in ("two", "three", "four")]

        # When alice sends three more at once, with one token left and the next 500 ms away
        replies = await asyncio.gather(*(alice_phone.request(frame) for frame in frames))

        # Then one is stored and two are refused, each told when to try again
        refused = [r for r in replies if r["type"] == "error"]
        assert sorted(r["type"] for r in replies) == ["error", "error", "sent"], replies
        assert all(r["code"] == "rate_limited" and r["action"] == "send" for r in refused)
        assert all(0 < r["retryAfterMs"] <= 1000 for r in refused), refused

        # And resending each after its retryAfterMs (the same clientMsgId) stores it, once
        for reply in refused:
            frame = next(f for f in frames if f["clientMsgId"] == reply["clientMsgId"])
            for _ in range(5):  # the two wait for the same token: one of them may be told to wait again
                await asyncio.sleep(reply["retryAfterMs"] / 1000)
                reply = await alice_phone.request(frame)
                if reply["type"] == "sent":
                    break
            assert reply["type"] == "sent", reply
        received = await bob_phone.messages(conversation, 4)
        assert sorted(m["body"]["text"] for m in received) == ["four", "one", "three", "two"]
        assert len({m["seq"] for m in received}) == len(received) == 4
        assert bob_phone.received(is_message(conversation, 5)) == []
    finally:
        await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_the_handshake_of_one_socket_too_many_is_refused_until_one_closes(
    limited_stack: LocalStackProcess,
) -> None:
    stack = limited_stack
    user = unique("carol")
    token = await asyncio.to_thread(stack.token, user)
    sockets = [await WsClient.connect(stack, user, f"d{i}", token=token) for i in range(MAX_CONNECTIONS_PER_USER)]
    try:
        assert await refused_status(stack, token, "one-more") == 429
        assert (await sockets[0].request({"action": "ping"}))["type"] == "pong"  # the open ones are untouched

        await sockets.pop(0).close()
        status: int | None = 429
        for _ in range(50):  # until its $disconnect has run
            status = await refused_status(stack, token, "one-more")
            if status is None:
                break
            await asyncio.sleep(0.1)
        assert status is None
    finally:
        await asyncio.gather(*(s.close() for s in sockets))


def test_health_says_the_limits_are_overridden(limited_stack: LocalStackProcess) -> None:
    with urllib.request.urlopen(f"{limited_stack.http_url}/health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["behaviours"] == [f"rate limits {SEND_LIMIT}"]
