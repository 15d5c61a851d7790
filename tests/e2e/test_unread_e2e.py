"""Unread badges over real sockets: a device that has never been online gets the right counts in its
first `synced`, and a read on one device clears them on the others."""

from __future__ import annotations

from tests.conftest import unique
from tests.e2e.support import ack, send_in, send_to


async def test_a_new_device_shows_the_unread_count_at_once_and_a_read_elsewhere_clears_it(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob)
    first = await alice_phone.request(send_to(bob, "one"))
    conversation = first["conversationId"]
    for text in ("two", "three"):
        assert (await alice_phone.request(send_in(conversation, text)))["type"] == "sent"

    # A device of bob's that was never online: 3 unread in its first synced, 0 for alice
    bob_laptop = await ws_connect(bob, "laptop")
    synced = await bob_laptop.request({"action": "sync", "cursors": {}})
    assert [(c["conversationId"], c["unread"]) for c in synced["conversations"]] == [(conversation, 3)]
    mine = await alice_phone.request({"action": "sync", "cursors": {}})
    assert [(c["conversationId"], c["unread"]) for c in mine["conversations"]] == [(conversation, 0)]

    # bob reads everything on his phone: the laptop's next sync shows 0
    await bob_phone.send(ack("read", conversation, 3))
    await alice_phone.wait_for(lambda f: f.get("type") == "receipt" and f.get("userId") == bob and f.get("seq") == 3)
    again = await bob_laptop.request({"action": "sync", "cursors": {conversation: 3}})
    assert [(c["conversationId"], c["unread"]) for c in again["conversations"]] == [(conversation, 0)]
