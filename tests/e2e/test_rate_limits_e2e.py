"""Abuse limits over real sockets, on a stack of their own: a send bucket small enough to meet
(CHAT_RATE_LIMITS), and the most connections a user may have open."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.protocol_limits import MAX_CONNECTIONS_PER_USER
from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, WsClient, refused_status, unique
from tests.e2e.support import send_to

ROOT = Path(__file__).resolve().parents[2]
SEND_LIMIT = "send=1/s:2"  # 2 at once, then one a second
TEXTS = [f"m{n}" for n in range(1, 7)]


@pytest.fixture(scope="module")
def limited_stack() -> Iterator[LocalStackProcess]:
    log = ARTIFACTS / "local-stack-rate-limits.log"
    with LocalStackProcess(log_path=log, env={"CHAT_RATE_LIMITS": SEND_LIMIT}) as stack:
        yield stack


async def test_sends_over_the_limit_wait_retry_after_and_are_stored_once(limited_stack: LocalStackProcess) -> None:
    stack = limited_stack
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)
    try:
        frames = [send_to(bob, text) for text in TEXTS]

        # When alice sends six at once (all six would need 4 s of refill)
        replies = await asyncio.gather(*(alice_phone.request(frame) for frame in frames))

        # Then some are stored and the others refused, each told when to try again: a token away (1 s),
        # give or take how far apart concurrent invocations read the clock
        refused = [r for r in replies if r["type"] == "error"]
        assert refused and len(refused) <= len(TEXTS) - 2, replies
        assert all(r["code"] == "rate_limited" and r["action"] == "send" for r in refused), refused
        assert all(0 < r["retryAfterMs"] <= 1500 for r in refused), refused

        # And resending each after its retryAfterMs (the same clientMsgId) stores it, once
        for reply in refused:
            frame = next(f for f in frames if f["clientMsgId"] == reply["clientMsgId"])
            for _ in range(10):  # several wait for the same token: one may be told to wait again
                await asyncio.sleep(reply["retryAfterMs"] / 1000)
                reply = await alice_phone.request(frame)
                if reply["type"] == "sent":
                    break
            assert reply["type"] == "sent", reply
        conversation = reply["conversationId"]
        received = await bob_phone.messages(conversation, len(TEXTS))
        assert sorted(m["body"]["text"] for m in received) == TEXTS
        assert sorted(m["seq"] for m in received) == list(range(1, len(TEXTS) + 1))  # each stored once
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


def test_the_cli_sends_again_after_retry_after(limited_stack: LocalStackProcess, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    limited_stack.token(bob)  # bob exists
    lines = "".join(f"{text}\n" for text in TEXTS)

    result = subprocess.run(
        [sys.executable, "-m", "cli", "--url", limited_stack.ws_url, "--user", alice],
        input=f"/to {bob}\n{lines}",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"},
    )

    assert result.returncode == 0, result.stderr
    assert "sending again in" in result.stderr  # some of the six met an empty bucket
    assert "rate_limited" not in result.stdout + result.stderr
    for text in TEXTS:
        assert f"you: {text}  ✓ #" in result.stdout, result.stdout
    assert sorted(int(n) for n in re.findall(r"✓ #(\d+)", result.stdout)) == list(range(1, len(TEXTS) + 1))
