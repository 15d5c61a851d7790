"""Typing indicators through the real typing handler against moto."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from chat import clock
from chat.config import table_name
from chat.topology import TABLES
from chat.typing_indicators import TYPING_LIMIT, TYPING_WINDOW_S
from tests.integration.conftest import Device
from tests.integration.support import FakePoster

T0 = 1_800_000_000  # the start of a rate-limit window


def type_in(dev: Device, conversation_id: str, state: str = "start") -> dict[str, Any] | None:
    return dev.call("typing", {"action": "typing", "conversationId": conversation_id, "state": state})


def typing_frames(poster: FakePoster, dev: Device) -> list[dict[str, Any]]:
    return poster.of_type(dev.connection_id, "typing")


def items(logical_name: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.scan(TableName=table_name(TABLES[logical_name]), ConsistentRead=True)["Items"]  # type: ignore[no-any-return]


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rate-limit window's clock, settable: now[0]."""
    now = [T0]
    monkeypatch.setattr(clock, "epoch_s", lambda: now[0])
    return now


def test_typing_reaches_the_other_members_devices_only(device: Any, poster: FakePoster, frozen_clock: Any) -> None:
    alice_phone, alice_laptop = device("alice", "phone"), device("alice", "laptop")
    bob_phone, bob_laptop = device("bob", "phone"), device("bob", "laptop")
    conversation_id = alice_phone.send(to="bob")["conversationId"]

    assert type_in(alice_phone, conversation_id, "start") is None
    assert type_in(alice_phone, conversation_id, "stop") is None

    expected = [
        {"type": "typing", "conversationId": conversation_id, "userId": "alice", "state": "start"},
        {"type": "typing", "conversationId": conversation_id, "userId": "alice", "state": "stop"},
    ]
    assert typing_frames(poster, bob_phone) == expected
    assert typing_frames(poster, bob_laptop) == expected
    assert poster.frames[alice_phone.connection_id] == []
    assert poster.frames[alice_laptop.connection_id] == []


def group_carol_left(alice: Device) -> str:
    """A group of alice, bob and carol, from which carol was removed."""
    created = alice.do({"action": "createGroup", "name": "trio", "members": ["bob", "carol"]})
    assert created is not None
    left = alice.do({"action": "removeMembers", "conversationId": created["conversationId"], "userIds": ["carol"]})
    assert left is not None and left["members"] == ["alice", "bob"]
    return str(created["conversationId"])


def test_typing_in_a_group_skips_former_members(device: Any, poster: FakePoster, frozen_clock: Any) -> None:
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    group = group_carol_left(alice)

    assert type_in(alice, group) is None

    assert typing_frames(poster, bob) == [
        {"type": "typing", "conversationId": group, "userId": "alice", "state": "start"}
    ]
    assert typing_frames(poster, carol) == []


def test_typing_is_never_stored(device: Any, poster: FakePoster, frozen_clock: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send(to="bob")["conversationId"]
    stored = {name: items(name) for name in ("Conversations", "Members", "Messages", "Receipts", "ClientMsgIds")}

    type_in(alice, conversation_id, "start")
    type_in(alice, conversation_id, "stop")

    assert {name: items(name) for name in stored} == stored
    # only the rate-limit counter, which expires after its window
    [counter] = items("Limits")
    assert int(counter["count"]["N"]) == 2
    assert int(counter["expiresAt"]["N"]) <= T0 + 2 * TYPING_WINDOW_S


def test_only_active_members_may_type(device: Any, poster: FakePoster, frozen_clock: Any) -> None:
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    conversation_id = alice.send(to="bob")["conversationId"]
    group = group_carol_left(alice)

    # forbidden: a conversation carol was never in, and one she is no longer in (as for every action)
    for dev, target in ((carol, conversation_id), (carol, group)):
        reply = type_in(dev, target)
        assert reply is not None
        assert (reply["type"], reply["code"], reply["action"]) == ("error", "forbidden", "typing")

    # not_found: no such conversation
    reply = type_in(alice, "no-such-conversation")
    assert reply is not None and reply["code"] == "not_found"

    assert typing_frames(poster, alice) == [] and typing_frames(poster, bob) == []
    assert items("Limits") == []  # refused before counting


def test_typing_is_rate_limited_per_user_and_conversation(
    device: Any, poster: FakePoster, frozen_clock: list[int]
) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send(to="bob")["conversationId"]

    for _ in range(TYPING_LIMIT):
        assert type_in(alice, conversation_id) is None
    reply = type_in(alice, conversation_id, "stop")

    assert reply is not None and reply["code"] == "rate_limited"
    assert reply["retryAfterMs"] == TYPING_WINDOW_S * 1000  # T0 starts a window: the next is that far
    assert len(typing_frames(poster, bob)) == TYPING_LIMIT  # the refused frame reached nobody

    # bob's own budget in the same conversation is untouched
    assert type_in(bob, conversation_id) is None
    assert len(typing_frames(poster, alice)) == 1

    # the next window starts afresh
    frozen_clock[0] = T0 + TYPING_WINDOW_S
    assert type_in(alice, conversation_id, "stop") is None
    assert typing_frames(poster, bob)[-1]["state"] == "stop"


def test_the_limit_holds_under_concurrent_frames(device: Any, poster: FakePoster, frozen_clock: Any) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send(to="bob")["conversationId"]
    replies: list[dict[str, Any] | None] = []
    lock = threading.Lock()

    def burst() -> None:
        reply = type_in(alice, conversation_id)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=burst) for _ in range(3 * TYPING_LIMIT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert replies.count(None) == TYPING_LIMIT
    assert all(r is None or r["code"] == "rate_limited" for r in replies)
    assert len(typing_frames(poster, bob)) == TYPING_LIMIT
