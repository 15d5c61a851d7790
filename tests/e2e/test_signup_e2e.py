"""Users exist from sign-in (`/dev/token` runs the signup function), not from their first connection."""

from __future__ import annotations

import asyncio

from tests.conftest import is_message, unique
from tests.e2e.support import of_type, refusal, send_to


async def test_a_user_who_signed_in_but_never_connected_can_be_sent_a_direct_message(local_stack, ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    await asyncio.to_thread(local_stack.token, bob)  # bob signs in and opens no socket
    alice_phone = await ws_connect(alice)

    sent = await alice_phone.request(send_to(bob, "hello bob"))

    assert sent["type"] == "sent", sent
    assert sent["seq"] == 1
    # When bob connects at last, his first sync brings the message.
    bob_phone = await ws_connect(bob)
    await bob_phone.send({"action": "sync", "cursors": {}})
    message = await bob_phone.wait_for(is_message(sent["conversationId"], 1))
    assert (message["senderId"], message["body"]) == (alice, {"text": "hello bob"})


async def test_a_user_who_never_signed_in_is_not_found(ws_connect) -> None:
    """The test above is not vacuous: without the sign-in, the same message is refused."""
    alice_phone = await ws_connect(unique("alice"))
    error = await alice_phone.request(send_to(unique("bob"), "hello?"))
    assert refusal(error) == ("error", "not_found", "send"), error


async def test_a_watcher_sees_a_signed_in_user_come_online_at_their_first_connection(local_stack, ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    await asyncio.to_thread(local_stack.token, bob)
    alice_phone = await ws_connect(alice)
    assert (await alice_phone.request(send_to(bob, "are you there?")))["type"] == "sent"
    await alice_phone.send({"action": "subscribePresence", "userIds": [bob]})
    never_seen = await alice_phone.wait_for(of_type("presence", userId=bob))
    assert never_seen == {"type": "presence", "userId": bob, "online": False, "lastSeen": None}

    await ws_connect(bob)

    online = await alice_phone.wait_for(of_type("presence", userId=bob))
    assert online == {"type": "presence", "userId": bob, "online": True, "lastSeen": None}
