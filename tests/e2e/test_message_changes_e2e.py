"""Reply, edit, delete for everyone and reactions over real sockets: live to the other person and to the
sender's other device, and caught up through `sync` by a device that was offline during all of them."""

from __future__ import annotations

from tests.conftest import is_message, unique
from tests.e2e.support import of_type, refusal

THUMBS = "\U0001f44d"


def change_of(conversation_id: str, change: int):  # type: ignore[no-untyped-def]
    return of_type("messageChanged", conversationId=conversation_id, change=change)


async def test_reply_edit_delete_and_reactions_reach_everyone_and_an_offline_device_catches_up(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, alice_laptop = await ws_connect(alice, "phone"), await ws_connect(alice, "laptop")
    bob_phone, bob_tablet = await ws_connect(bob, "phone"), await ws_connect(bob, "tablet")
    first = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "a1", "body": {"text": "helo"}})
    conversation = first["conversationId"]
    second = {"action": "send", "conversationId": conversation, "clientMsgId": "a2", "body": {"text": "bye"}}
    await alice_phone.request(second)
    await bob_tablet.wait_for(is_message(conversation, 2))
    synced = await bob_tablet.request({"action": "sync", "cursors": {conversation: 2}})
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert summary["lastChange"] == 0
    await bob_tablet.close()  # offline for everything that follows

    reply = {"action": "send", "conversationId": conversation, "clientMsgId": "b1", "body": {"text": "hi!"}}
    sent = await bob_phone.request({**reply, "replyTo": 1})
    assert sent["type"] == "sent" and sent["seq"] == 3
    assert (await alice_laptop.wait_for(is_message(conversation, 3)))["replyTo"] == 1

    edited = await alice_phone.request(
        {"action": "edit", "conversationId": conversation, "seq": 1, "body": {"text": "hello"}}
    )
    assert (edited["type"], edited["kind"], edited["change"]) == ("messageChanged", "edited", 1), edited
    for device in (bob_phone, alice_laptop):
        live = await device.wait_for(change_of(conversation, 1))
        assert live["message"]["body"]["text"] == "hello" and live["message"]["editedAt"] == edited["at"]

    reacted = await bob_phone.request({"action": "react", "conversationId": conversation, "seq": 1, "emoji": THUMBS})
    assert reacted["message"]["reactions"] == {bob: THUMBS}
    await alice_laptop.wait_for(change_of(conversation, 2))

    deleted = await alice_phone.request({"action": "delete", "conversationId": conversation, "seq": 2})
    assert deleted["message"]["deleted"] is True and deleted["message"]["body"]["text"] == ""
    assert (await bob_phone.wait_for(change_of(conversation, 3)))["message"]["deleted"] is True

    refused = await bob_phone.request(
        {"action": "edit", "conversationId": conversation, "seq": 1, "body": {"text": "x"}}
    )
    assert refusal(refused) == ("error", "forbidden", "edit"), refused

    # The tablet comes back: the new message in its current state, then the changes to what it held.
    bob_tablet = await ws_connect(bob, "tablet")
    synced = await bob_tablet.request(
        {"action": "sync", "cursors": {conversation: 2}, "changeCursors": {conversation: 0}}
    )
    [summary] = [c for c in synced["conversations"] if c["conversationId"] == conversation]
    assert (summary["lastSeq"], summary["lastChange"], synced["complete"]) == (3, 3, True)
    [new] = bob_tablet.received(is_message(conversation, 3))
    assert new["replyTo"] == 1 and new["body"]["text"] == "hi!"
    changed = {f["message"]["seq"]: f["message"] for f in bob_tablet.received(of_type("messageChanged"))}
    assert changed[1]["body"]["text"] == "hello" and changed[1]["reactions"] == {bob: THUMBS}
    assert changed[2]["deleted"] is True and changed[2]["body"]["text"] == ""

    history = await bob_tablet.request({"action": "history", "conversationId": conversation})
    shown = {m["seq"]: m for m in history["messages"]}
    assert (shown[1]["body"]["text"], shown[1]["reactions"]) == ("hello", {bob: THUMBS})
    assert shown[2]["deleted"] is True and shown[3]["replyTo"] == 1
