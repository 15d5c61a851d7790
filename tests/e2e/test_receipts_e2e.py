"""Check marks end to end: delivered / read watermarks, their pushes, and per-member message info."""

from __future__ import annotations

from tests.conftest import is_message, unique
from tests.e2e.support import ack, create_group, is_iso_ms, of_type, position, receipt, refusal, send_in, send_many


def marks(frames: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(f["kind"], f["seq"]) for f in frames]


async def test_watermarks_reach_the_sender_and_the_readers_other_device_and_only_move_forward(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone, bob_laptop = await ws_connect(bob, "phone"), await ws_connect(bob, "laptop")
    conversation = await send_many(alice_phone, 2, to=bob)
    await bob_phone.messages(conversation, 2)
    of_bob = receipt(conversation, bob)

    # Double check mark: alice's device, and bob's other device so his state follows him.
    await bob_phone.send(ack("delivered", conversation, 2))
    delivered = await alice_phone.wait_for(receipt(conversation, bob, "delivered", 2))
    assert set(delivered) == {"type", "conversationId", "userId", "kind", "seq", "at"}
    assert is_iso_ms(delivered["at"])
    assert await bob_laptop.wait_for(receipt(conversation, bob, "delivered", 2)) == delivered

    # A flood of lower and equal acks, from both of bob's devices, changes nothing and pushes nothing.
    for seq in (1, 1, 1, 2):
        await bob_phone.send(ack("delivered", conversation, seq))
    await bob_laptop.send(ack("delivered", conversation, 1))

    # Blue: the next move is pushed after anything the flood could have caused (one ordered stream).
    await bob_phone.send(ack("read", conversation, 2))
    read = await alice_phone.wait_for(receipt(conversation, bob, "read", 2))
    assert is_iso_ms(read["at"]) and read["at"] >= delivered["at"]
    await bob_laptop.wait_for(receipt(conversation, bob, "read", 2))

    # Reading again at or below the watermark is as silent; a later read is the marker.
    await bob_laptop.send(ack("read", conversation, 1))
    await bob_laptop.send(ack("read", conversation, 2))
    await bob_phone.send(ack("delivered", conversation, 2))
    sent = await alice_phone.request(send_in(conversation, "third"))
    assert sent["seq"] == 3
    await bob_phone.wait_for(is_message(conversation, 3))
    await bob_phone.send(ack("read", conversation, 3))
    await alice_phone.wait_for(receipt(conversation, bob, "read", 3))
    await bob_laptop.wait_for(receipt(conversation, bob, "read", 3))

    expected = [("delivered", 2), ("read", 2), ("read", 3)]
    assert marks(alice_phone.received(of_bob)) == expected
    assert marks(bob_laptop.received(of_bob)) == expected
    # The device whose ack moved the watermark is not told about its own move.
    assert bob_phone.received(of_bob) == []
    # A stale ack is no error either: it is simply a no-op.
    assert bob_phone.received(of_type("error")) == bob_laptop.received(of_type("error")) == []


async def test_an_ack_above_the_last_seq_or_from_a_non_member_is_refused_and_pushes_nothing(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone = await ws_connect(alice)
    bob_phone, carol_phone = await ws_connect(bob), await ws_connect(carol)
    conversation = await send_many(alice_phone, 1, to=bob)
    await bob_phone.wait_for(is_message(conversation, 1))

    for kind in ("delivered", "read"):
        error = await bob_phone.request(ack(kind, conversation, 2))
        assert refusal(error) == ("error", "bad_request", kind), error
        error = await carol_phone.request(ack(kind, conversation, 1))
        assert refusal(error) == ("error", "forbidden", kind), error

    # Refused acks stored nothing: bob's next valid ack is the first move alice hears of.
    await bob_phone.send(ack("read", conversation, 1))
    await alice_phone.wait_for(receipt(conversation, bob, "read", 1))
    assert marks(alice_phone.received(receipt(conversation, bob))) == [("read", 1)]
    assert alice_phone.received(receipt(conversation, carol)) == []


async def test_message_info_lists_each_members_delivered_and_read_times(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone = await ws_connect(alice)
    bob_phone, bob_laptop = await ws_connect(bob, "phone"), await ws_connect(bob, "laptop")
    carol_phone = await ws_connect(carol)
    group = await create_group(alice_phone, "info", [bob, carol], bob_phone, bob_laptop, carol_phone)
    conversation = group["conversationId"]
    await send_many(alice_phone, 2, conversation_id=conversation)
    await bob_phone.messages(conversation, 2)

    def info_by_user(reply: dict[str, object]) -> dict[str, tuple[object, object]]:
        assert reply["type"] == "receipts", reply
        rows = reply["members"]
        assert isinstance(rows, list)
        return {r["userId"]: (r["deliveredAt"], r["readAt"]) for r in rows}

    # Nobody acked yet: every member but the sender, nulls everywhere.
    info = await alice_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1})
    assert (info["conversationId"], info["seq"]) == (conversation, 1)
    assert info_by_user(info) == {bob: (None, None), carol: (None, None)}

    # bob's phone acks delivery; his laptop hearing of it means the move is stored.
    await bob_phone.send(ack("delivered", conversation, 1))
    await bob_laptop.wait_for(receipt(conversation, bob, "delivered", 1))
    info = info_by_user(await alice_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1}))
    bob_delivered, bob_read = info[bob]
    assert is_iso_ms(bob_delivered) and bob_read is None
    assert info[carol] == (None, None)

    # bob reads; carol goes straight to read (delivered then too). The "*" read tells all have read.
    await bob_phone.send(ack("read", conversation, 1))
    await bob_laptop.wait_for(receipt(conversation, bob, "read", 1))
    await carol_phone.send(ack("read", conversation, 1))
    await alice_phone.wait_for(receipt(conversation, "*", "read", 1))

    info = info_by_user(await bob_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1}))
    assert set(info) == {bob, carol}, "every member who can see the message, except its sender"
    assert info[bob][0] == bob_delivered, "deliveredAt is when delivery first reached the seq"
    assert is_iso_ms(info[bob][1]) and info[bob][1] >= bob_delivered
    carol_delivered, carol_read = info[carol]
    assert is_iso_ms(carol_read) and carol_delivered == carol_read

    # The second message: nobody acked it.
    info = info_by_user(await alice_phone.request({"action": "receipts", "conversationId": conversation, "seq": 2}))
    assert info == {bob: (None, None), carol: (None, None)}


async def test_the_group_read_receipt_comes_once_the_last_member_has_read(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone = await ws_connect(alice)
    bob_phone, bob_laptop = await ws_connect(bob, "phone"), await ws_connect(bob, "laptop")
    carol_phone, carol_laptop = await ws_connect(carol, "phone"), await ws_connect(carol, "laptop")
    devices = [alice_phone, bob_phone, bob_laptop, carol_phone, carol_laptop]
    group = await create_group(alice_phone, "stars", [bob, carol], *devices[1:])
    conversation = group["conversationId"]
    await send_many(alice_phone, 1, conversation_id=conversation)  # alice has read what she sent
    await bob_phone.wait_for(is_message(conversation, 1))
    await carol_phone.wait_for(is_message(conversation, 1))
    everyone = receipt(conversation, "*")

    # One of the two others reads: not read by all yet.
    await bob_phone.send(ack("read", conversation, 1))
    await bob_laptop.wait_for(receipt(conversation, bob, "read", 1))
    assert all(d.received(everyone) == [] for d in devices)

    # The last one reads: every device of every member gets "*" read.
    await carol_phone.send(ack("read", conversation, 1))
    for device in devices:
        star = await device.wait_for(receipt(conversation, "*", "read", 1))
        assert is_iso_ms(star["at"])
    # Caused by carol's read, not bob's: carol's laptop hears of her move before any "*" frame.
    own_move = position(carol_laptop, receipt(conversation, carol, "read", 1))
    assert own_move < position(carol_laptop, everyone)
    for device in devices:
        assert marks(device.received(of_type("receipt", conversationId=conversation, userId="*", kind="read"))) == [
            ("read", 1)
        ]
    # In a group, a member's own moves go to that member's other devices only.
    assert alice_phone.received(receipt(conversation, bob)) == []
    assert alice_phone.received(receipt(conversation, carol)) == []
