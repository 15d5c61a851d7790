"""Block: a user blocks another for all of its devices; neither may send in their direct chat, nor start
one; groups are unaffected."""

from __future__ import annotations

from typing import Any

import pytest

from chat import blocks
from chat.store.models import UserModel
from tests.integration.support import FakePoster


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
