"""Block over real sockets: the blocker's other device is told at once, the blocked user cannot send in
their direct chat any more, and messages in a shared group still flow; presence and typing are hidden
and the block list reaches a device that was away through `sync`."""

from __future__ import annotations

from tests.conftest import unique
from tests.e2e.support import of_type, refusal, send_in, send_to, until


async def test_a_block_stops_the_direct_chat_but_not_a_shared_group(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    phone, laptop, bob_phone = (
        await ws_connect(alice, "phone"),
        await ws_connect(alice, "laptop"),
        await ws_connect(bob),
    )
    conversation = (await bob_phone.request(send_to(alice, "hi")))["conversationId"]
    group = (await phone.request({"action": "createGroup", "name": "g", "members": [bob]}))["conversationId"]

    reply = await phone.request({"action": "block", "userId": bob})

    assert (reply["type"], reply["userId"], reply["blocked"]) == ("blocked", bob, True)
    await laptop.wait_for(of_type("blocked", userId=bob, blocked=True))
    refused = await bob_phone.request(send_in(conversation, "still there?"))
    assert refusal(refused) == ("error", "forbidden", "send"), refused
    assert refused["message"] == "you cannot message this user"
    assert (await bob_phone.request(send_in(group, "in the group")))["type"] == "sent"
    assert bob_phone.received(of_type("blocked")) == []

    await laptop.request({"action": "unblock", "userId": bob})
    assert (await bob_phone.request(send_in(conversation, "back")))["type"] == "sent"


async def test_a_block_hides_presence_and_typing_and_syncs_to_a_device_that_was_away(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    phone, bob_phone = await ws_connect(alice, "phone"), await ws_connect(bob)
    conversation = (await bob_phone.request(send_to(alice, "hi")))["conversationId"]
    await bob_phone.send({"action": "subscribePresence", "userIds": [alice]})
    await bob_phone.wait_for(of_type("presence", userId=alice, online=True))

    await phone.request({"action": "block", "userId": bob})

    # bob now sees alice offline and never seen, and neither may type in their chat
    await bob_phone.wait_for(of_type("presence", userId=alice, online=False, lastSeen=None))
    typing = await bob_phone.request({"action": "typing", "conversationId": conversation, "state": "start"})
    assert refusal(typing) == ("error", "forbidden", "typing"), typing
    # alice's laptop, connecting after the block, learns the list from sync; bob's sync says nothing of it
    laptop = await ws_connect(alice, "laptop")
    assert (await laptop.request({"action": "sync", "cursors": {}}))["blocked"] == [bob]
    assert (await bob_phone.request({"action": "sync", "cursors": {}}))["blocked"] == []

    await phone.request({"action": "unblock", "userId": bob})
    await bob_phone.wait_for(of_type("presence", userId=alice, online=True))
    await until(lambda: len(bob_phone.received(of_type("presence", userId=alice))) == 3, what="three presence frames")
    assert [f["online"] for f in bob_phone.received(of_type("presence", userId=alice))] == [True, False, True]
