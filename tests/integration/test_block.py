"""Block: a user blocks another for all of its devices; neither may send in their direct chat, nor start
one; groups are unaffected."""

from __future__ import annotations

from typing import Any

import pytest

from chat import blocks
from chat.store import conversations, users
from chat.store.models import UserModel
from local.iam import acting_as
from local.streams import StreamReader
from tests.integration.support import FakePoster
from tests.integration.test_presence import presence_push, subscription_rows


def refused(reply: dict[str, Any], message: str) -> bool:
    return (reply["type"], reply["code"], reply["message"]) == ("error", "forbidden", message)


def stored_blocks(user_id: str) -> set[str]:
    return set(UserModel.get(user_id, consistent_read=True).blocked or ())


def test_a_block_reaches_the_users_other_devices_and_no_one_else(device: Any, poster: FakePoster) -> None:
    phone, laptop, bob = device("alice", "phone"), device("alice", "laptop"), device("bob")

    reply = phone.do({"action": "block", "userId": "bob", "requestId": "b"})

    assert reply == {"type": "blocked", "userId": "bob", "blocked": True, "requestId": "b"}
    assert poster.of_type(laptop.connection_id, "blocked") == [{"type": "blocked", "userId": "bob", "blocked": True}]
    assert poster.of_type(phone.connection_id, "blocked") == []
    assert poster.of_type(bob.connection_id, "blocked") == []
    assert stored_blocks("alice") == {"bob"}


def test_neither_can_send_in_their_existing_direct_chat_until_unblocked(device: Any) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = bob.send("hi", to="alice")["conversationId"]
    assert alice.do({"action": "block", "userId": "bob"}) is not None

    assert refused(bob.send("again", conversationId=conversation_id), "you cannot message this user")
    assert refused(bob.send("again", to="alice"), "you cannot message this user")
    assert refused(alice.send("hey", conversationId=conversation_id), "unblock this user to message them")

    assert alice.do({"action": "unblock", "userId": "bob"}) == {"type": "blocked", "userId": "bob", "blocked": False}
    assert stored_blocks("alice") == set()
    assert bob.send("back", conversationId=conversation_id)["type"] == "sent"
    assert alice.send("hello", to="bob")["type"] == "sent"


def test_neither_can_start_a_direct_chat_after_a_block(device: Any) -> None:
    alice, bob = device("alice"), device("bob")
    assert alice.do({"action": "block", "userId": "bob"}) is not None

    assert refused(bob.send("hi", to="alice"), "you cannot message this user")
    assert refused(alice.send("hi", to="bob"), "unblock this user to message them")


def test_groups_are_unaffected(device: Any) -> None:
    alice, bob = device("alice"), device("bob")
    group = alice.do({"action": "createGroup", "name": "g", "members": ["bob"]})
    assert group is not None
    assert alice.do({"action": "block", "userId": "bob"}) is not None

    assert bob.send("in the group", conversationId=group["conversationId"])["type"] == "sent"
    assert alice.send("me too", conversationId=group["conversationId"])["type"] == "sent"


def test_blocking_yourself_is_bad_request_and_an_unknown_user_not_found(device: Any) -> None:
    alice = device("alice")

    myself = alice.do({"action": "block", "userId": "alice"})
    nobody = alice.do({"action": "block", "userId": "nobody"})

    assert myself is not None and (myself["type"], myself["code"]) == ("error", "bad_request")
    assert nobody is not None and (nobody["type"], nobody["code"]) == ("error", "not_found")
    assert stored_blocks("alice") == set()


def test_the_block_list_is_bounded(device: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "MAX_BLOCKED", 1)
    alice, _bob, _cat = device("alice"), device("bob"), device("cat")
    assert alice.do({"action": "block", "userId": "bob"}) is not None
    assert alice.do({"action": "block", "userId": "bob"}) is not None  # blocking again stays within it

    reply = alice.do({"action": "block", "userId": "cat"})

    assert reply is not None and (reply["type"], reply["code"]) == ("error", "limit_exceeded")
    assert stored_blocks("alice") == {"bob"}


# ---- what a block hides: typing in their direct chat, presence everywhere --------------------------------


def type_in(dev: Any, conversation_id: str) -> dict[str, Any] | None:
    return dev.call("typing", {"action": "typing", "conversationId": conversation_id, "state": "start"})


def test_neither_may_type_in_their_direct_chat_but_both_may_in_a_shared_group(device: Any, poster: FakePoster) -> None:
    alice, bob = device("alice"), device("bob")
    direct = bob.send("hi", to="alice")["conversationId"]
    group = alice.do({"action": "createGroup", "name": "g", "members": ["bob"]})
    assert group is not None
    assert alice.do({"action": "block", "userId": "bob"}) is not None

    from_bob = type_in(bob, direct)
    from_alice = type_in(alice, direct)

    assert from_bob is not None and refused(from_bob, "you cannot message this user")
    assert from_alice is not None and refused(from_alice, "unblock this user to message them")
    assert poster.of_type(alice.connection_id, "typing") == poster.of_type(bob.connection_id, "typing") == []
    assert type_in(alice, group["conversationId"]) is None
    assert [f["userId"] for f in poster.of_type(bob.connection_id, "typing")] == ["alice"]


def presence_frames(poster: FakePoster, dev: Any) -> list[dict[str, Any]]:
    return poster.of_type(dev.connection_id, "presence")


def presence_of(user_id: str, online: bool, last_seen: str | None = None) -> dict[str, Any]:
    return {"type": "presence", "userId": user_id, "online": online, "lastSeen": last_seen}


def subscribe(dev: Any, user_ids: list[str]) -> dict[str, Any] | None:
    return dev.call("presence", {"action": "subscribePresence", "userIds": user_ids})


def test_a_blocked_pair_sees_each_other_offline_and_never_seen_even_in_a_shared_group(
    device: Any, poster: FakePoster
) -> None:
    # Given alice blocked bob; they share a group; carol (in the group too) blocks no one; all online
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    assert alice.do({"action": "createGroup", "name": "g", "members": ["bob", "carol"]}) is not None
    assert alice.do({"action": "block", "userId": "bob"}) is not None

    # When each of them subscribes to the presence of the others
    for dev in (alice, bob, carol):
        assert subscribe(dev, ["alice", "bob", "carol"]) is None

    # Then the subscription itself tells nothing of a block, but the pair reads as never seen
    assert presence_frames(poster, bob)[0] == presence_of("alice", False)
    assert presence_frames(poster, alice)[1] == presence_of("bob", False)
    assert presence_frames(poster, carol)[:2] == [presence_of("alice", True), presence_of("bob", True)]


def test_a_block_turns_the_watchers_view_offline_and_an_unblock_back(device: Any, poster: FakePoster) -> None:
    alice, bob, bob_laptop = device("alice"), device("bob"), device("bob", "laptop")
    alice.send("hi", to="bob")
    assert subscribe(bob, ["alice"]) is None
    assert subscribe(alice, ["bob"]) is None
    assert presence_frames(poster, bob) == [presence_of("alice", True)]

    # A block: each side's watching connections are told the other is offline, never seen
    assert alice.do({"action": "block", "userId": "bob"}) is not None
    assert presence_frames(poster, bob)[1:] == [presence_of("alice", False)]
    assert presence_frames(poster, alice)[1:] == [presence_of("bob", False)]
    assert presence_frames(poster, bob_laptop) == []  # it watches no one

    # An unblock: the current presence again
    assert alice.do({"action": "unblock", "userId": "bob"}) is not None
    assert presence_frames(poster, bob)[2:] == [presence_of("alice", True)]
    assert presence_frames(poster, alice)[2:] == [presence_of("bob", True)]


def test_while_blocked_a_users_presence_changes_reach_other_watchers_only(device: Any, poster: FakePoster) -> None:
    connections_stream = StreamReader.of_table("Connections")
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    assert alice.do({"action": "createGroup", "name": "g", "members": ["bob", "carol"]}) is not None
    assert presence_push(connections_stream.event()) == {"batchItemFailures": []}
    assert subscribe(bob, ["alice"]) is None
    assert subscribe(carol, ["alice"]) is None
    assert bob.do({"action": "block", "userId": "alice"}) is not None  # the blocked one hears nothing either

    alice.disconnect()
    assert presence_push(connections_stream.event()) == {"batchItemFailures": []}

    assert presence_frames(poster, bob) == [presence_of("alice", True), presence_of("alice", False)]
    last_seen = presence_frames(poster, carol)[-1]["lastSeen"]
    assert last_seen is not None and presence_frames(poster, carol)[-1] == presence_of("alice", False, last_seen)


def synced(dev: Any) -> dict[str, Any]:
    reply = dev.call("sync", {"action": "sync", "cursors": {}})
    assert reply is not None and reply["type"] == "synced"
    return reply


def test_every_synced_carries_the_whole_block_list(device: Any) -> None:
    phone, laptop = device("alice", "phone"), device("alice", "laptop")
    device("bob"), device("cat")
    assert synced(laptop)["blocked"] == []

    assert phone.do({"action": "block", "userId": "cat"}) is not None
    assert phone.do({"action": "block", "userId": "bob"}) is not None
    assert synced(laptop)["blocked"] == ["bob", "cat"]
    token = laptop.call("sync", {"action": "sync", "cursors": {}, "since": ""})
    assert token is not None and token["blocked"] == ["bob", "cat"]

    assert phone.do({"action": "unblock", "userId": "cat"}) is not None
    assert synced(laptop)["blocked"] == ["bob"]


def test_a_watcher_whose_socket_is_gone_when_a_block_lands_loses_its_subscription(
    device: Any, poster: FakePoster
) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send("hi", to="bob")
    assert subscribe(bob, ["alice"]) is None
    poster.gone.add(bob.connection_id)

    assert alice.do({"action": "block", "userId": "bob"}) is not None

    assert subscription_rows() == set()


def test_a_block_landing_while_a_direct_chat_is_being_started_refuses_that_first_message(
    device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bob's first message to alice has read both block lists (empty) ...
    _alice, bob = device("alice"), device("bob")
    read_lists = users.blocked_by_user
    landed: list[bool] = []

    def then_alice_blocks_bob(user_id: str) -> frozenset[str] | None:
        found = read_lists(user_id)
        if user_id == "bob" and not landed:  # the second list read: the block lands before the write
            with acting_as("preferences"):  # alice's block, stored by its own function
                assert users.set_blocked("alice", "bob", True, blocks.MAX_BLOCKED)
            landed.append(True)
        return found

    monkeypatch.setattr(users, "blocked_by_user", then_alice_blocks_bob)

    # When it is stored: the creation's condition fails, it is decided again and refused
    reply = bob.send("hi", to="alice")

    assert landed and refused(reply, "you cannot message this user")
    assert conversations.find_direct("alice", "bob") is None


def test_an_unblock_tells_a_watcher_nothing_once_they_share_no_conversation(device: Any, poster: FakePoster) -> None:
    alice, bob = device("alice"), device("bob")
    group = alice.do({"action": "createGroup", "name": "g", "members": ["bob"]})
    assert group is not None
    assert subscribe(bob, ["alice"]) is None
    assert alice.do({"action": "block", "userId": "bob"}) is not None
    assert bob.do({"action": "leaveGroup", "conversationId": group["conversationId"]}) is not None

    assert alice.do({"action": "unblock", "userId": "bob"}) is not None

    assert presence_frames(poster, bob) == [presence_of("alice", True), presence_of("alice", False)]
