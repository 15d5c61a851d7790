"""Presence and typing end to end: who may watch whom, what changes are pushed, and the typing limit."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import is_message, unique
from tests.e2e.support import is_iso_ms, of_type, refusal, send_in, send_to, until


def subscribe(*user_ids: str) -> dict[str, object]:
    return {"action": "subscribePresence", "userIds": list(user_ids)}


def typing(conversation_id: str, state: str = "start") -> dict[str, object]:
    return {"action": "typing", "conversationId": conversation_id, "state": state}


def presence_of(user_id: str) -> object:
    return of_type("presence", userId=user_id)


def parse_iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# ---- presence ---------------------------------------------------------------------------------------


async def test_a_subscriber_sees_a_user_go_offline_with_last_seen_and_come_back(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone, bob_laptop = await ws_connect(bob, "phone"), await ws_connect(bob, "laptop")
    await alice_phone.request(send_to(bob, "hello"))  # now they share a conversation

    await bob_phone.send(subscribe(alice))
    now = await bob_phone.wait_for(presence_of(alice))
    assert now == {"type": "presence", "userId": alice, "online": True, "lastSeen": None}

    # alice's only device goes away. (Her connection's own stream record may still be on its way and
    # repeat "online" first: a repeated frame is harmless, presence only promises the latest state.)
    closed_at = datetime.now(UTC)
    await alice_phone.close()
    gone = await bob_phone.wait_for(of_type("presence", userId=alice, online=False))
    assert (gone["online"], is_iso_ms(gone["lastSeen"])) == (False, True), gone
    seen = parse_iso(gone["lastSeen"])
    assert closed_at - timedelta(seconds=2) <= seen <= datetime.now(UTC) + timedelta(seconds=2)

    # A subscriber arriving now is told the same lastSeen.
    await bob_laptop.send(subscribe(alice))
    assert await bob_laptop.wait_for(presence_of(alice)) == gone

    # She comes back: both subscribed devices hear it.
    def states(device: object) -> list[bool]:
        frames = device.received(presence_of(alice))  # type: ignore[attr-defined]
        return [f["online"] for i, f in enumerate(frames) if i == 0 or frames[i - 1]["online"] != f["online"]]

    await ws_connect(alice)
    await until(lambda: states(bob_phone) == [True, False, True], what="bob's phone to see alice back")
    await until(lambda: states(bob_laptop) == [False, True], what="bob's laptop to see alice back")
    for device in (bob_phone, bob_laptop):
        assert device.received(presence_of(alice))[-1] == {
            "type": "presence",
            "userId": alice,
            "online": True,
            "lastSeen": None,
        }


async def test_presence_is_only_for_users_sharing_a_conversation_and_at_most_100(ws_connect) -> None:
    alice, bob, stranger = unique("alice"), unique("bob"), unique("stranger")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob)
    await ws_connect(stranger)
    await alice_phone.request(send_to(bob, "hello"))
    ghost = unique("ghost")  # never connected: told apart from a stranger by nothing

    for user_ids in ([stranger], [ghost], [alice, stranger]):
        error = await bob_phone.request(subscribe(*user_ids))
        assert refusal(error) == ("error", "forbidden", "subscribePresence"), error

    error = await bob_phone.request(subscribe(*(unique("ghost") for _ in range(101))))
    assert refusal(error)[:2] == ("error", "limit_exceeded"), error
    error = await bob_phone.request(subscribe(*[alice] * 101))  # counted as sent
    assert refusal(error)[:2] == ("error", "limit_exceeded"), error
    error = await bob_phone.request(subscribe(*(unique("ghost") for _ in range(100))))
    assert refusal(error)[:2] == ("error", "forbidden"), error  # 100 is within the limit

    # Allowed: a user one shares a conversation with, and oneself. The refused frames pushed nothing.
    await bob_phone.send(subscribe(alice, bob))
    assert (await bob_phone.wait_for(presence_of(alice)))["online"] is True
    assert (await bob_phone.wait_for(presence_of(bob)))["online"] is True
    assert len(bob_phone.received(presence_of(alice))) == 1
    assert bob_phone.received(presence_of(stranger)) == []


async def test_presence_ends_with_the_last_conversation_two_users_share(ws_connect) -> None:
    # bob shares only a group with alice; carol is in it too; bob and dave share a direct chat
    alice, bob, carol, dave = unique("alice"), unique("bob"), unique("carol"), unique("dave")
    alice_phone, bob_phone, carol_phone, dave_phone = [await ws_connect(u) for u in (alice, bob, carol, dave)]
    group = await alice_phone.request({"action": "createGroup", "name": "g", "members": [bob, carol]})
    await dave_phone.request(send_to(bob, "hi"))
    await bob_phone.send(subscribe(alice, dave))
    await bob_phone.wait_for(presence_of(alice))
    await bob_phone.wait_for(presence_of(dave))
    await carol_phone.send(subscribe(alice))
    await carol_phone.wait_for(presence_of(alice))

    # When alice removes bob from the group
    removed = await alice_phone.request(
        {"action": "removeMembers", "conversationId": group["conversationId"], "userIds": [bob]}
    )
    assert removed["members"] == sorted([alice, carol]), removed

    # Then he may not ask for her presence any more (a refused frame leaves his old set standing)...
    error = await bob_phone.request(subscribe(alice))
    assert refusal(error) == ("error", "forbidden", "subscribePresence"), error
    # ... and his standing subscription hears nothing of her: carol does hear alice leave, and a later
    # change (dave's), pushed after it through the same ordered stream, reaches bob without hers before
    await alice_phone.close()
    await carol_phone.wait_for(of_type("presence", userId=alice, online=False))
    await dave_phone.close()
    await bob_phone.wait_for(of_type("presence", userId=dave, online=False))
    assert [f["online"] for f in bob_phone.received(presence_of(alice))] == [True]


# ---- typing -----------------------------------------------------------------------------------------


async def test_typing_reaches_the_other_members_devices_and_not_the_typists_own(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, alice_laptop = await ws_connect(alice, "phone"), await ws_connect(alice, "laptop")
    bob_phone, bob_tablet = await ws_connect(bob, "phone"), await ws_connect(bob, "tablet")
    conversation = (await alice_phone.request(send_to(bob, "hello")))["conversationId"]

    for state in ("start", "stop"):
        await alice_phone.send(typing(conversation, state))
        for device in (bob_phone, bob_tablet):
            frame = await device.wait_for(of_type("typing", userId=alice, state=state))
            assert frame == {"type": "typing", "conversationId": conversation, "userId": alice, "state": state}

    # bob typing back reaches both of alice's devices, after anything alice's own frames sent them.
    await bob_tablet.send(typing(conversation))
    for device in (alice_phone, alice_laptop):
        await device.wait_for(of_type("typing", userId=bob, state="start"))
        assert device.received(of_type("typing", userId=alice)) == []
    assert bob_tablet.received(of_type("typing", userId=bob)) == []
    assert len(bob_phone.received(of_type("typing", userId=alice))) == 2


async def test_only_members_may_type(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone, bob_phone, carol_phone = await ws_connect(alice), await ws_connect(bob), await ws_connect(carol)
    conversation = (await alice_phone.request(send_to(bob, "hello")))["conversationId"]

    error = await carol_phone.request(typing(conversation))
    assert refusal(error) == ("error", "forbidden", "typing"), error
    error = await carol_phone.request(typing("d_" + uuid.uuid4().hex))
    assert refusal(error)[:2] == ("error", "not_found"), error

    # A later member's typing is the marker: carol's never reached bob.
    await alice_phone.send(typing(conversation))
    await bob_phone.wait_for(of_type("typing", userId=alice))
    assert bob_phone.received(of_type("typing", userId=carol)) == []


async def test_more_than_5_typing_frames_in_10_s_are_rate_limited(ws_connect) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone, bob_phone, carol_phone = await ws_connect(alice), await ws_connect(bob), await ws_connect(carol)
    conversation = (await alice_phone.request(send_to(bob, "hello")))["conversationId"]
    other = (await alice_phone.request(send_to(carol, "hello")))["conversationId"]
    from_alice = of_type("typing", conversationId=conversation, userId=alice)

    # 11 frames in well under 10 s: whichever 10 s window(s) they fall in, at most 10 pass, at least 5.
    request_ids = {uuid.uuid4().hex for _ in range(11)}
    started = time.monotonic()
    for request_id in request_ids:
        await alice_phone.send({**typing(conversation), "requestId": request_id})

    def refused() -> list[dict[str, object]]:
        return alice_phone.received(lambda f: f.get("type") == "error" and f.get("requestId") in request_ids)

    await until(lambda: len(refused()) + len(bob_phone.received(from_alice)) >= 11, what="11 typing frames handled")
    assert time.monotonic() - started < 10, "the premise: all 11 frames were handled within one 10 s span"
    # A later message in the conversation reaches bob after any typing push still on its way.
    sent = await alice_phone.request(send_in(conversation, "done typing"))
    await bob_phone.wait_for(is_message(conversation, sent["seq"]))

    errors = refused()
    assert errors, "an 11th typing frame within 10 s must be refused"
    assert all((e["code"], e["action"]) == ("rate_limited", "typing") for e in errors), errors
    passed = len(bob_phone.received(from_alice))
    assert passed + len(errors) == 11, "a refused typing frame reaches nobody"
    assert 5 <= passed <= 10

    # The limit is per conversation: alice may still type to carol.
    await alice_phone.send(typing(other))
    await carol_phone.wait_for(of_type("typing", conversationId=other, userId=alice))
