"""What a device that was away gets back, and the check marks, end to end."""

from __future__ import annotations

from tests.conftest import is_message, unique


def send(to: str, client_msg_id: str, text: str = "hi") -> dict[str, object]:
    return {"action": "send", "to": to, "clientMsgId": client_msg_id, "body": {"text": text}}


async def test_a_device_that_was_offline_gets_everything_from_sync(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone = await ws_connect(bob, "phone")
    first = await alice_phone.request(send(bob, "a1", "one"))
    conversation = first["conversationId"]
    await bob_phone.wait_for(is_message(conversation, 1))
    await bob_phone.close()
    for n in (2, 3):
        await alice_phone.request(send(bob, f"a{n}", f"message {n}"))

    # The phone holds seq 1; a new tablet holds nothing.
    bob_phone = await ws_connect(bob, "phone")
    synced = await bob_phone.request({"action": "sync", "cursors": {conversation: 1}})
    assert synced["type"] == "synced" and synced["complete"] is True
    # A live push still on its way may arrive too (at-least-once): the device drops copies by seq.
    assert sorted({m["seq"] for m in bob_phone.received(is_message(conversation))}) == [2, 3]
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert (summary["kind"], summary["lastSeq"], sorted(summary["members"])) == ("direct", 3, sorted([alice, bob]))

    tablet = await ws_connect(bob, "tablet")
    await tablet.request({"action": "sync", "cursors": {}})
    texts = {m["seq"]: m["body"]["text"] for m in tablet.received(is_message(conversation))}
    assert texts == {1: "one", 2: "message 2", 3: "message 3"}

    history = await tablet.request({"action": "history", "conversationId": conversation, "beforeSeq": 3, "limit": 1})
    assert [m["seq"] for m in history["messages"]] == [2]
    assert history["hasMore"] is True


async def test_delivered_and_read_reach_the_sender_and_the_readers_other_devices(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone, bob_laptop = await ws_connect(bob, "phone"), await ws_connect(bob, "laptop")
    sent = await alice_phone.request(send(bob, "r1"))
    conversation = sent["conversationId"]
    await bob_phone.wait_for(is_message(conversation, 1))

    def receipt(kind: str) -> object:
        return lambda f: f.get("type") == "receipt" and (f["userId"], f["kind"], f["seq"]) == (bob, kind, 1)

    await bob_phone.send({"action": "delivered", "conversationId": conversation, "seq": 1})
    await alice_phone.wait_for(receipt("delivered"))  # ✓✓
    await bob_phone.send({"action": "read", "conversationId": conversation, "seq": 1})
    await alice_phone.wait_for(receipt("read"))  # blue
    await bob_laptop.wait_for(receipt("read"))  # read state follows bob across devices

    info = await alice_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1})
    [bob_row] = [m for m in info["members"] if m["userId"] == bob]
    assert bob_row["deliveredAt"] and bob_row["readAt"]

    # Watermarks only move forward; above the last seq is a bad request.
    error = await bob_phone.request({"action": "read", "conversationId": conversation, "seq": 2})
    assert error["code"] == "bad_request"


async def test_a_group_message_reaches_every_member(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone = await ws_connect(alice)
    bob_phone, carol_phone = await ws_connect(bob), await ws_connect(carol)
    group = await alice_phone.request({"action": "createGroup", "name": "trip", "members": [bob, carol]})
    assert group["type"] == "group" and group["change"] == "created"
    conversation = group["conversationId"]
    for device in (bob_phone, carol_phone):
        await device.wait_for(lambda f: f.get("type") == "group" and f["conversationId"] == conversation)

    sent = await bob_phone.request(
        {"action": "send", "conversationId": conversation, "clientMsgId": "g1", "body": {"text": "hello all"}}
    )
    assert sent["seq"] == 1
    for device in (alice_phone, carol_phone):
        message = await device.wait_for(is_message(conversation, 1))
        assert message["senderId"] == bob
