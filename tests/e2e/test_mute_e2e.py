"""Mute over real sockets: the user's other device is told at once, a device that was away learns it
in its next `synced`, and the other member hears nothing."""

from __future__ import annotations

from tests.conftest import unique
from tests.e2e.support import of_type, send_to


async def test_a_mute_reaches_the_users_other_devices_and_their_next_sync(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    phone, laptop, bob_phone = (
        await ws_connect(alice, "phone"),
        await ws_connect(alice, "laptop"),
        await ws_connect(bob),
    )
    conversation = (await bob_phone.request(send_to(alice, "hi")))["conversationId"]

    reply = await phone.request({"action": "mute", "conversationId": conversation, "until": "2099-06-01T12:00:00Z"})

    assert (reply["type"], reply["muted"], reply["until"]) == ("muted", True, "2099-06-01T12:00:00.000Z")
    pushed = await laptop.wait_for(of_type("muted", conversationId=conversation))
    assert (pushed["muted"], pushed["until"]) == (True, "2099-06-01T12:00:00.000Z")
    tablet = await ws_connect(alice, "tablet")
    synced = await tablet.request({"action": "sync", "cursors": {}})
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert (summary["muted"], summary["mutedUntil"]) == (True, "2099-06-01T12:00:00.000Z")

    unmuted = await laptop.request({"action": "unmute", "conversationId": conversation})
    assert (unmuted["muted"], unmuted["until"]) == (False, None)
    await phone.wait_for(of_type("muted", conversationId=conversation, muted=False))
    assert bob_phone.received(of_type("muted")) == []
