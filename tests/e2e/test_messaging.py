"""Sending: live delivery to every device, idempotent resends, one gap-free sequence under concurrency."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import is_message, unique


def send_frame(text: str, client_msg_id: str | None = None, **target: str) -> dict[str, object]:
    return {"action": "send", "clientMsgId": client_msg_id or uuid.uuid4().hex, "body": {"text": text}, **target}


async def test_a_message_reaches_every_device_of_both_users(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, alice_laptop = await ws_connect(alice, "phone"), await ws_connect(alice, "laptop")
    bob_phone, bob_tablet = await ws_connect(bob, "phone"), await ws_connect(bob, "tablet")

    sent = await alice_phone.request(send_frame("hello bob", "m-1", to=bob))

    assert sent["type"] == "sent", sent
    assert sent["seq"] == 1 and sent["clientMsgId"] == "m-1"
    conversation = sent["conversationId"]
    for device in (bob_phone, bob_tablet, alice_laptop):
        message = await device.wait_for(is_message(conversation, 1))
        assert message == {
            "type": "message",
            "conversationId": conversation,
            "seq": 1,
            "senderId": alice,
            "senderDeviceId": "phone",
            "clientMsgId": "m-1",
            "body": {"text": "hello bob"},
            "sentAt": sent["sentAt"],
        }

    # The reply goes the other way in the same conversation, with the next seq.
    reply = await bob_tablet.request(send_frame("hi alice", to=alice))
    assert (reply["conversationId"], reply["seq"]) == (conversation, 2)
    for device in (alice_phone, alice_laptop, bob_phone):
        await device.wait_for(is_message(conversation, 2))


async def test_a_resend_with_the_same_client_msg_id_stores_nothing_new(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice, "phone")
    bob_phone = await ws_connect(bob, "phone")

    first = await alice_phone.request(send_frame("once", "dup-1", to=bob))
    again = await alice_phone.request(send_frame("once", "dup-1", to=bob))
    # After a reconnect, from the same device, too.
    await alice_phone.close()
    alice_phone = await ws_connect(alice, "phone")
    third = await alice_phone.request(send_frame("once", "dup-1", conversationId=first["conversationId"]))

    assert first["type"] == again["type"] == third["type"] == "sent"
    assert (again["seq"], again["sentAt"]) == (third["seq"], third["sentAt"]) == (first["seq"], first["sentAt"])
    following = await alice_phone.request(send_frame("next", to=bob))
    assert following["seq"] == first["seq"] + 1
    await bob_phone.wait_for(is_message(first["conversationId"], following["seq"]))
    assert [m["seq"] for m in bob_phone.received(is_message(first["conversationId"]))] == [1, 2]


async def test_concurrent_sends_from_many_devices_get_seqs_1_to_n(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    devices = [await ws_connect(alice, f"dev{i}") for i in range(4)]
    bob_phone = await ws_connect(bob, "phone")
    per_device = 10
    total = len(devices) * per_device

    async def burst(device_index: int) -> list[dict[str, object]]:
        # Each device sends as a client does, one frame after the other; the devices race each other.
        device = devices[device_index]
        return [
            await device.request(send_frame(f"{device_index}/{n}", f"c{device_index}-{n}", to=bob), timeout=60)
            for n in range(per_device)
        ]

    results = [r for batch in await asyncio.gather(*(burst(i) for i in range(len(devices)))) for r in batch]

    assert all(r["type"] == "sent" for r in results), [r for r in results if r["type"] != "sent"]
    conversations = {r["conversationId"] for r in results}
    assert len(conversations) == 1, "concurrent first sends must create one direct conversation"
    assert sorted(r["seq"] for r in results) == list(range(1, total + 1))

    conversation = conversations.pop()
    received = await bob_phone.messages(conversation, total, timeout=60)
    seqs = [m["seq"] for m in received]
    assert sorted(seqs) == list(range(1, total + 1)), "each seq delivered exactly once"
    assert seqs == sorted(seqs), "live messages arrive in seq order"
    by_seq = {r["seq"]: r["clientMsgId"] for r in results}
    assert all(m["clientMsgId"] == by_seq[m["seq"]] for m in received)
