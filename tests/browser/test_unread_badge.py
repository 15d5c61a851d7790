"""The unread badge of a device that signs in after many messages: it shows the server's count
(`synced.unread`), not only what the device holds (the newest 50 of a conversation)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Browser, expect

from tests.browser.test_web_client import DESKTOP, Person, Shots, browser  # noqa: F401 (fixture)
from tests.conftest import WsClient

UNREAD = 60  # more than the 50 newest messages a new device is given


async def send_many(stack, sender: str, to: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` messages from `sender` to `to` (whose phone signs up and goes away first), each waiting
    out the send rate limit when it says so."""
    await (await WsClient.connect(stack, to)).close()
    client = await WsClient.connect(stack, sender)
    conversation: dict[str, str] = {"to": to}
    for n in range(count):
        while True:
            frame = {"action": "send", **conversation, "clientMsgId": f"m{n}", "body": {"text": f"m{n}"}}
            reply = await client.request(frame)
            if reply.get("code") != "rate_limited":
                break
            await asyncio.sleep(reply["retryAfterMs"] / 1000)
        assert reply["type"] == "sent", reply
        conversation = {"conversationId": reply["conversationId"]}
    await client.close()


def test_a_new_device_shows_the_whole_unread_count_and_reading_clears_it(browser: Browser, local_stack) -> None:  # noqa: F811
    run = uuid.uuid4().hex[:8]
    shots = Shots()
    alice = Person(browser, local_stack.http_url.rstrip("/") + "/", f"alice-{run}", DESKTOP, shots)
    bob = f"bob-{run}"
    try:
        # Given bob wrote 60 messages to alice while none of her devices was connected
        # (in a thread of its own: Playwright's sync API runs an event loop in this one)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, send_many(local_stack, bob, alice.user_id, UNREAD)).result()

        # When she signs in on a new device: the badge says 60, though it holds 50
        alice.sign_in()
        row = alice.conversation(bob)
        expect(row).to_have_attribute("data-unread", str(UNREAD))
        expect(row.get_by_test_id("unread-count")).to_have_text(str(UNREAD))

        # Then opening the chat reads them all
        row.click()
        expect(row).to_have_attribute("data-unread", "0")
    except BaseException:
        shots.all("unread-failure")
        raise
    finally:
        if alice.page is not None:
            alice.context.close()
