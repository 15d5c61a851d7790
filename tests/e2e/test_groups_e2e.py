"""Groups end to end: create, add, remove, leave, who is told, who may, and what members see."""

from __future__ import annotations

import asyncio

from tests.conftest import is_message, unique
from tests.e2e.support import ack, create_group, of_type, receipt, refusal, send_in, send_many, send_to


def group_frames(conversation_id: str) -> object:
    return of_type("group", conversationId=conversation_id)


async def test_create_group_replies_to_the_creator_and_tells_every_other_device(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone, alice_laptop = await ws_connect(alice, "phone"), await ws_connect(alice, "laptop")
    bob_phone, carol_phone = await ws_connect(bob), await ws_connect(carol)

    reply = await alice_phone.request({"action": "createGroup", "name": "Trip 2026", "members": [carol, bob, bob]})

    assert reply["type"] == "group", reply
    conversation = reply["conversationId"]
    assert conversation.startswith("g_")
    announced = {k: v for k, v in reply.items() if k != "requestId"}
    assert announced == {
        "type": "group",
        "conversationId": conversation,
        "name": "Trip 2026",
        "members": sorted([alice, bob, carol]),
        "admins": [alice],
        "change": "created",
        "by": alice,
    }
    for device in (alice_laptop, bob_phone, carol_phone):
        assert await device.wait_for(group_frames(conversation)) == announced
    # The creating device has it as its reply only (pushes to it would have come before the reply).
    assert len(alice_phone.received(group_frames(conversation))) == 1


async def test_only_an_admin_adds_members_and_a_newcomer_sees_only_what_follows(ws_connect) -> None:
    alice, bob, dave = unique("alice"), unique("bob"), unique("dave")
    alice_phone, bob_phone, dave_phone = await ws_connect(alice), await ws_connect(bob), await ws_connect(dave)
    conversation = (await create_group(alice_phone, "club", [bob], bob_phone))["conversationId"]
    await send_many(alice_phone, 2, conversation_id=conversation)

    error = await bob_phone.request({"action": "addMembers", "conversationId": conversation, "userIds": [dave]})
    assert refusal(error) == ("error", "forbidden", "addMembers"), error

    reply = await alice_phone.request({"action": "addMembers", "conversationId": conversation, "userIds": [dave, bob]})
    assert (reply["type"], reply["change"], reply["by"]) == ("group", "membersAdded", alice), reply
    assert (reply["members"], reply["admins"]) == (sorted([alice, bob, dave]), [alice])
    for device in (dave_phone, bob_phone):
        added = await device.wait_for(of_type("group", conversationId=conversation, change="membersAdded"))
        assert added["members"] == sorted([alice, bob, dave])

    sent = await alice_phone.request(send_in(conversation, "welcome dave"))
    assert sent["seq"] == 3
    welcome = await dave_phone.wait_for(is_message(conversation, 3))
    assert welcome["body"] == {"text": "welcome dave"}
    # Messages 1 and 2 were fanned out before 3 (one ordered stream): dave never got them.
    assert [m["seq"] for m in dave_phone.received(is_message(conversation))] == [3]
    # bob's refused attempt told dave nothing: the only group frame dave has is his addition.
    assert [f["change"] for f in dave_phone.received(group_frames(conversation))] == ["membersAdded"]

    history = await dave_phone.request({"action": "history", "conversationId": conversation})
    assert ([m["seq"] for m in history["messages"]], history["hasMore"]) == ([3], False)
    older = await dave_phone.request({"action": "history", "conversationId": conversation, "beforeSeq": 3})
    assert (older["type"], older["messages"], older["hasMore"]) == ("history", [], False), older
    # Nor message info about a message from before he joined.
    error = await dave_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1})
    assert error["type"] == "error", error

    tablet = await ws_connect(dave, "tablet")
    synced = await tablet.request({"action": "sync", "cursors": {}})
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert (summary["kind"], summary["lastSeq"], summary["firstSeqSent"]) == ("group", 3, 3)
    assert (summary["members"], summary["admins"]) == (sorted([alice, bob, dave]), [alice])
    assert {m["seq"] for m in tablet.received(is_message(conversation))} == {3}


async def test_a_removed_member_is_told_and_then_gets_and_sees_nothing_newer(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob)
    carol_phone, carol_laptop = await ws_connect(carol, "phone"), await ws_connect(carol, "laptop")
    conversation = (await create_group(alice_phone, "team", [bob, carol], bob_phone, carol_phone))["conversationId"]
    await send_many(alice_phone, 1, conversation_id=conversation)
    await carol_phone.wait_for(is_message(conversation, 1))

    reply = await alice_phone.request({"action": "removeMembers", "conversationId": conversation, "userIds": [carol]})
    assert (reply["type"], reply["change"], reply["by"]) == ("group", "membersRemoved", alice), reply
    assert reply["members"] == sorted([alice, bob])
    for device in (carol_phone, carol_laptop, bob_phone):
        removed = await device.wait_for(of_type("group", conversationId=conversation, change="membersRemoved"))
        assert (removed["members"], removed["admins"]) == (sorted([alice, bob]), [alice])

    sent = await alice_phone.request(send_in(conversation, "after carol"))
    assert sent["seq"] == 2
    await bob_phone.wait_for(is_message(conversation, 2))
    # A later message to carol herself goes through the same ordered stream after seq 2's fan-out.
    direct = await alice_phone.request(send_to(carol, "just you"))
    for device in (carol_phone, carol_laptop):
        await device.wait_for(is_message(direct["conversationId"], 1))
        assert [m["seq"] for m in device.received(is_message(conversation))] == [1]

    history = await carol_phone.request({"action": "history", "conversationId": conversation})
    assert ([m["seq"] for m in history["messages"]], history["hasMore"]) == ([1], False), history
    synced = await carol_laptop.request({"action": "sync", "cursors": {conversation: 0}})
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert summary["lastSeq"] == 1 and "members" not in summary  # as of her leaving: see below
    assert {m["seq"] for m in carol_laptop.received(is_message(conversation))} == {1}

    for frame in (
        send_in(conversation, "let me back"),
        {"action": "typing", "conversationId": conversation, "state": "start"},
        {"action": "read", "conversationId": conversation, "seq": 2},
        {"action": "addMembers", "conversationId": conversation, "userIds": [carol]},
    ):
        error = await carol_phone.request(frame)
        assert refusal(error) == ("error", "forbidden", frame["action"]), error
    # Her refused send stored nothing: the group's next message is still seq 3.
    assert (await bob_phone.request(send_in(conversation, "next")))["seq"] == 3


async def test_a_removed_member_learns_nothing_of_the_group_after_its_leaving(ws_connect) -> None:
    alice, bob, carol, dave = unique("alice"), unique("bob"), unique("carol"), unique("dave")
    alice_phone, bob_phone, carol_phone, dave_phone = [await ws_connect(u) for u in (alice, bob, carol, dave)]
    conversation = (await create_group(alice_phone, "team", [bob, carol], bob_phone, carol_phone))["conversationId"]
    await send_many(alice_phone, 1, conversation_id=conversation)
    await carol_phone.wait_for(is_message(conversation, 1))
    await carol_phone.send(ack("read", conversation, 1))
    await bob_phone.wait_for(is_message(conversation, 1))
    await bob_phone.send(ack("delivered", conversation, 1))  # but not read: "*" is delivered 1, read 0
    await alice_phone.wait_for(receipt(conversation, "*", "delivered", 1))

    # carol is removed; then dave joins, a message follows and everyone there reads it: "*" read 2
    removed = await alice_phone.request({"action": "removeMembers", "conversationId": conversation, "userIds": [carol]})
    assert removed["type"] == "group", removed
    await asyncio.sleep(0.01)  # what follows is strictly later than her leaving, to the millisecond
    added = await alice_phone.request({"action": "addMembers", "conversationId": conversation, "userIds": [dave]})
    assert added["members"] == sorted([alice, bob, dave]), added
    await dave_phone.wait_for(of_type("group", conversationId=conversation, change="membersAdded"))
    sent = await alice_phone.request(send_in(conversation, "after carol"))
    for device in (bob_phone, dave_phone):
        await device.wait_for(is_message(conversation, sent["seq"]))
        await device.send(ack("read", conversation, sent["seq"]))
    await alice_phone.wait_for(receipt(conversation, "*", "read", 2))

    # A new device of carol's syncs: the group as of her leaving
    tablet = await ws_connect(carol, "tablet")
    synced = await tablet.request({"action": "sync", "cursors": {}})
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert "members" not in summary and "admins" not in summary, summary
    assert (summary["lastSeq"], summary["firstSeqSent"]) == (1, 1)
    watermarks = {(r["userId"], r["kind"]): r["seq"] for r in summary["receipts"]}
    assert watermarks == {("*", "delivered"): 1, ("*", "read"): 0, (carol, "delivered"): 1, (carol, "read"): 1}
    history = await tablet.request({"action": "history", "conversationId": conversation, "beforeSeq": 3})
    assert [m["seq"] for m in history["messages"]] == [1], history

    # Message info on seq 1: bob's delivery came before her leaving, his read after it: she is told of
    # the one, not the other; alice of both
    info = await tablet.request({"action": "receipts", "conversationId": conversation, "seq": 1})
    bob_row = {m["userId"]: m for m in info["members"]}[bob]
    assert bob_row["deliveredAt"] is not None and bob_row["readAt"] is None, info
    info = await alice_phone.request({"action": "receipts", "conversationId": conversation, "seq": 1})
    assert {m["userId"]: m for m in info["members"]}[bob]["readAt"] is not None, info


async def test_when_the_last_admin_leaves_the_longest_standing_member_becomes_admin(ws_connect) -> None:
    # zed joined first, amy later: seniority, not the alphabet, picks the new admin.
    alice, zed, amy = unique("alice"), unique("zed"), unique("amy")
    alice_phone, alice_laptop = await ws_connect(alice, "phone"), await ws_connect(alice, "laptop")
    zed_phone, amy_phone = await ws_connect(zed), await ws_connect(amy)
    conversation = (await create_group(alice_phone, "handover", [zed], zed_phone))["conversationId"]
    await send_many(alice_phone, 1, conversation_id=conversation)
    added = await alice_phone.request({"action": "addMembers", "conversationId": conversation, "userIds": [amy]})
    assert added["type"] == "group", added
    await amy_phone.wait_for(of_type("group", conversationId=conversation, change="membersAdded"))

    reply = await alice_phone.request({"action": "leaveGroup", "conversationId": conversation})
    assert (reply["type"], reply["change"], reply["by"]) == ("group", "left", alice), reply
    assert (reply["members"], reply["admins"]) == (sorted([zed, amy]), [zed])
    for device in (alice_laptop, zed_phone, amy_phone):
        left = await device.wait_for(of_type("group", conversationId=conversation, change="left"))
        assert (left["members"], left["admins"], left["by"]) == (sorted([zed, amy]), [zed], alice)

    # The new admin may act as one; the one who left may not.
    error = await alice_phone.request(send_in(conversation, "still here?"))
    assert refusal(error)[:2] == ("error", "forbidden"), error
    removed = await zed_phone.request({"action": "removeMembers", "conversationId": conversation, "userIds": [amy]})
    assert (removed["type"], removed["members"], removed["admins"]) == ("group", [zed], [zed]), removed


async def test_a_group_over_500_members_is_refused_before_anything_is_stored(ws_connect) -> None:
    alice = unique("alice")
    alice_phone = await ws_connect(alice)
    # The size is checked before the users' existence, so ids nobody ever used do for the limit.
    ghosts = [unique("ghost") for _ in range(500)]

    error = await alice_phone.request({"action": "createGroup", "name": "too many", "members": ghosts})
    assert refusal(error) == ("error", "limit_exceeded", "createGroup"), error
    # 499 others and the creator make 500: within the limit, refused only because they do not exist.
    error = await alice_phone.request({"action": "createGroup", "name": "almost", "members": ghosts[:499]})
    assert refusal(error)[:2] == ("error", "not_found"), error

    synced = await alice_phone.request({"action": "sync", "cursors": {}})
    assert (synced["type"], synced["conversations"], synced["complete"]) == ("synced", [], True)
    assert alice_phone.received(of_type("group")) == []
