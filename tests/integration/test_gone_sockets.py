"""Every function that posts cleans up a socket that turned out to be gone (410), whatever it was posting.

API Gateway's $disconnect is best effort, so the first push that meets a dead socket is what removes
its connection record and its entry on the user; each function does that with its own role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chat.store import connections, users
from local.streams import StreamReader
from tests.integration.conftest import drain, run_fanout
from tests.integration.support import FakePoster


def _gone(poster: FakePoster, dev: Any) -> None:
    dev.vanish(poster)


def _assert_cleaned_up(dev: Any) -> None:
    assert dev.connection_id not in {c.connection_id for c in connections.live_connections(dev.user_id)}
    assert dev.connection_id not in {e.connection_id for e in users.endpoints_of([dev.user_id])}


def typing_to_a_gone_device(device: Any, poster: FakePoster) -> Any:
    alice, bob_old = device("alice"), device("bob", "old-tablet")
    conversation_id = alice.send("hi", to="bob")["conversationId"]
    _gone(poster, bob_old)
    assert alice.do({"action": "typing", "conversationId": conversation_id, "state": "start"}) is None
    return bob_old


def group_change_to_a_gone_device(device: Any, poster: FakePoster) -> Any:
    alice, bob_old = device("alice"), device("bob", "old-tablet")
    _gone(poster, bob_old)
    reply = alice.do({"action": "createGroup", "name": "team", "members": ["bob"]})
    assert reply is not None and reply["type"] == "group"
    return bob_old


def sync_on_a_socket_that_closed_meanwhile(device: Any, poster: FakePoster) -> Any:
    alice, bob = device("alice"), device("bob")
    alice.send("hi", to="bob")
    _gone(poster, bob)  # bob's socket closed while his sync ran
    reply = bob.do({"action": "sync", "cursors": {}})
    assert reply is not None and reply["type"] == "synced"
    return bob


def presence_on_a_socket_that_closed_meanwhile(device: Any, poster: FakePoster) -> Any:
    alice, bob = device("alice"), device("bob")
    alice.send("hi", to="bob")
    _gone(poster, bob)
    bob.do({"action": "subscribePresence", "userIds": ["alice"]})
    return bob


def receipt_to_a_gone_device(device: Any, poster: FakePoster) -> Any:
    alice, alice_old, bob = device("alice"), device("alice", "old-tablet"), device("bob")
    conversation_id = alice.send("hi", to="bob")["conversationId"]
    drain(StreamReader.of_table("Receipts"), "receipt_push")  # alice's own move from sending
    _gone(poster, alice_old)
    assert bob.do({"action": "read", "conversationId": conversation_id, "seq": 1}) is None
    assert drain(StreamReader.of_table("Receipts"), "receipt_push") == {"batchItemFailures": []}
    return alice_old


@pytest.mark.parametrize(
    "scenario",
    [
        receipt_to_a_gone_device,
        typing_to_a_gone_device,
        group_change_to_a_gone_device,
        sync_on_a_socket_that_closed_meanwhile,
        presence_on_a_socket_that_closed_meanwhile,
    ],
    ids=["receipt_push", "typing", "groups", "sync", "presence"],
)
def test_a_post_answered_410_removes_the_connection(
    device: Any, poster: FakePoster, scenario: Callable[[Any, FakePoster], Any]
) -> None:
    gone = scenario(device, poster)
    assert poster.attempts[gone.connection_id] >= 1
    _assert_cleaned_up(gone)


def test_a_410_while_the_device_is_still_connecting_keeps_its_connection(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    # Given bob's new phone, stored by $connect, whose handshake API Gateway has not completed yet:
    # until it does, @connections answers 410 for it
    alice, bob_new = device("alice"), device("bob", "new-phone")
    poster.gone.add(bob_new.connection_id)

    # When a message is fanned out to bob in that moment
    conversation_id = alice.send("first", to="bob")["conversationId"]
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    # Then the connection stays listed, and once open it gets what follows (the first comes by sync)
    assert bob_new.connection_id in {c.connection_id for c in connections.live_connections("bob")}
    assert bob_new.connection_id in {e.connection_id for e in users.endpoints_of(["bob"])}
    poster.gone.discard(bob_new.connection_id)
    alice.send("second", conversationId=conversation_id)
    assert run_fanout(messages_stream) == {"batchItemFailures": []}
    assert [f["body"]["text"] for f in poster.of_type(bob_new.connection_id, "message")] == ["second"]
