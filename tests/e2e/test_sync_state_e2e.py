"""A new device of a user catches up with `sync`: the same messages and the read state of the others."""

from __future__ import annotations

import uuid

from tests.conftest import is_message, unique
from tests.e2e.support import ack, is_iso_ms, of_type, position, receipt, send_many, send_to


def watermarks(summary: dict[str, object]) -> dict[tuple[str, str], int]:
    entries = summary["receipts"]
    assert isinstance(entries, list)
    return {(r["userId"], r["kind"]): r["seq"] for r in entries}


async def test_a_brand_new_device_gets_the_same_messages_and_the_read_state_of_the_phone(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob, "phone")
    conversation = await send_many(alice_phone, 3, to=bob)
    on_phone = {m["seq"]: m for m in await bob_phone.messages(conversation, 3)}
    await bob_phone.send(ack("read", conversation, 3))
    blue = await alice_phone.wait_for(receipt(conversation, bob, "read", 3))

    tablet = await ws_connect(bob, "tablet-" + uuid.uuid4().hex[:8])
    synced = await tablet.request({"action": "sync", "cursors": {}})

    assert (synced["type"], synced["complete"]) == ("synced", True), synced
    on_tablet = {m["seq"]: m for m in tablet.received(is_message(conversation))}
    assert on_tablet == on_phone
    # The messages come before `synced`.
    assert position(tablet, is_message(conversation)) < position(tablet, of_type("synced"))
    [summary] = synced["conversations"]
    assert summary["conversationId"] == conversation
    assert (summary["kind"], summary["members"], summary["admins"]) == ("direct", sorted([alice, bob]), [])
    assert (summary["lastSeq"], summary["firstSeqSent"]) == (3, 1)
    assert watermarks(summary) == {
        (bob, "delivered"): 3,
        (bob, "read"): 3,
        (alice, "delivered"): 3,  # sending moved alice's own watermarks
        (alice, "read"): 3,
    }
    [bob_read] = [r for r in summary["receipts"] if (r["userId"], r["kind"]) == (bob, "read")]
    assert bob_read["at"] == blue["at"] and is_iso_ms(bob_read["at"])


async def test_sync_sends_the_50_newest_of_a_conversation_absent_from_cursors(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone, carol_phone = await ws_connect(alice), await ws_connect(carol)
    bob_phone = await ws_connect(bob)
    await bob_phone.close()  # bob exists, and is away while the messages come
    busy = await send_many(alice_phone, 55, to=bob)
    quiet = await send_many(carol_phone, 3, to=bob)

    tablet = await ws_connect(bob, "tablet")
    synced = await tablet.request({"action": "sync", "cursors": {quiet: 1}})

    assert (synced["type"], synced["complete"]) == ("synced", True), synced
    summaries = {c["conversationId"]: c for c in synced["conversations"]}
    assert set(summaries) == {busy, quiet}
    assert (summaries[busy]["lastSeq"], summaries[busy]["firstSeqSent"]) == (55, 55 - 49)
    assert sorted({m["seq"] for m in tablet.received(is_message(busy))}) == list(range(6, 56))
    # The conversation with a cursor gets everything after it.
    assert (summaries[quiet]["lastSeq"], summaries[quiet]["firstSeqSent"]) == (3, 2)
    assert sorted({m["seq"] for m in tablet.received(is_message(quiet))}) == [2, 3]

    # The older ones come from history.
    older = await tablet.request({"action": "history", "conversationId": busy, "beforeSeq": 6})
    assert ([m["seq"] for m in older["messages"]], older["hasMore"]) == ([1, 2, 3, 4, 5], False)


async def test_sync_with_current_cursors_sends_no_messages(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob)
    first = await alice_phone.request(send_to(bob, "one"))
    conversation = first["conversationId"]
    await bob_phone.wait_for(is_message(conversation, 1))

    synced = await bob_phone.request({"action": "sync", "cursors": {conversation: 1}})
    [summary] = synced["conversations"]
    assert (summary["lastSeq"], summary["firstSeqSent"], synced["complete"]) == (1, None, True)
    assert [m["seq"] for m in bob_phone.received(is_message(conversation))] == [1]


async def test_a_device_back_with_its_sync_token_gets_what_it_missed(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob, "phone")
    conversation = await send_many(alice_phone, 2, to=bob)
    await bob_phone.messages(conversation, 2)
    tablet = await ws_connect(bob, "tablet")
    first = await tablet.request({"action": "sync", "cursors": {}, "since": ""})
    assert (first["type"], first["complete"]) == ("synced", True), first
    assert [c["conversationId"] for c in first["conversations"]] == [conversation]
    token = first["syncToken"]
    await tablet.close()

    await send_many(alice_phone, 1, conversation_id=conversation)  # while the tablet is away
    await bob_phone.messages(conversation, 3)  # fanned out (and so logged for bob)
    tablet = await ws_connect(bob, "tablet")
    back = await tablet.request({"action": "sync", "cursors": {conversation: 2}, "since": token})

    assert (back["type"], back["complete"]) == ("synced", True), back
    [summary] = back["conversations"]
    assert (summary["conversationId"], summary["lastSeq"], summary["firstSeqSent"]) == (conversation, 3, 3)
    assert [m["seq"] for m in tablet.received(is_message(conversation))] == [3]
    assert back["syncToken"] not in ("", token)


async def test_a_since_the_server_did_not_give_is_one_error_frame(ws_connect) -> None:
    bob = unique("bob")
    phone = await ws_connect(bob)
    reply = await phone.request({"action": "sync", "cursors": {}, "since": "made-up"})
    assert (reply["type"], reply["code"], reply["action"]) == ("error", "bad_request", "sync"), reply
    assert phone.received(of_type("synced")) == [] and phone.received(of_type("message")) == []
