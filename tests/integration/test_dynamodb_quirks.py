"""The code against DynamoDB's less kind answers (local/dynamodb_quirks.py), none of which moto gives:
BatchGetItem's UnprocessedKeys, Query pages cut by size, an index that lags its table, and
transactions cancelled by a conflicting one."""

from __future__ import annotations

from typing import Any

from chat.store import connections, users
from local.dynamodb_quirks import Quirks
from local.streams import StreamReader
from tests.integration.conftest import drain, run_fanout
from tests.integration.support import FakePoster

GROUP = 30


def group_of(device: Any, size: int) -> tuple[Any, list[Any], str]:
    owner = device("owner")
    members = [device(f"member-{i:02d}") for i in range(size)]
    reply = owner.do({"action": "createGroup", "name": "crowd", "members": [m.user_id for m in members]})
    assert reply is not None and reply["type"] == "group", reply
    assert len(reply["members"]) == size + 1
    return owner, members, reply["conversationId"]


# ---- BatchGetItem: UnprocessedKeys -------------------------------------------------------------------


def test_unprocessed_keys_are_asked_again_so_every_member_is_found(
    device: Any, poster: FakePoster, messages_stream: StreamReader, ddb_quirks: Quirks
) -> None:
    # Given DynamoDB answers only 30% of each BatchGetItem's keys
    ddb_quirks.set(unprocessed_keys=0.7)
    owner, members, conversation_id = group_of(device, GROUP)  # (knowing the members is a BatchGetItem)

    # When the owner writes to the group
    sent = owner.send("to everyone", conversationId=conversation_id)
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    # Then every member's device still gets it (finding sockets is a BatchGetItem per 100 users)
    for member in members:
        assert [f["seq"] for f in poster.of_type(member.connection_id, "message")] == [sent["seq"]], member.user_id
    # And presence finds every user's lastSeen through the same kind of call
    reply = members[0].do({"action": "subscribePresence", "userIds": [m.user_id for m in members[1:]]})
    assert reply is None
    assert len(poster.of_type(members[0].connection_id, "presence")) == GROUP - 1
    assert ddb_quirks.keys_left_unprocessed > GROUP


# ---- Query: pages cut by size -------------------------------------------------------------------------


def test_every_paginated_read_follows_last_evaluated_key(
    device: Any, poster: FakePoster, messages_stream: StreamReader, ddb_quirks: Quirks
) -> None:
    # Given Query pages of about two items (DynamoDB cuts at 1 MB)
    ddb_quirks.set(query_page_bytes=400)
    owner, members, conversation_id = group_of(device, 6)
    for i in range(1, 61):
        owner.send(str(i), conversationId=conversation_id)
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    # Then fan-out read every member row
    assert all(len(poster.of_type(m.connection_id, "message")) == 60 for m in members)
    # And a new device of a member syncs the newest 50 in order, then history pages back to the first
    laptop = device(members[0].user_id, "laptop")
    reply = laptop.do({"action": "sync", "cursors": {}})
    assert reply is not None and reply["complete"] is True
    assert [f["seq"] for f in poster.of_type(laptop.connection_id, "message")] == list(range(11, 61))
    history = laptop.do({"action": "history", "conversationId": conversation_id, "beforeSeq": 11, "limit": 50})
    assert history is not None and [m["seq"] for m in history["messages"]] == list(range(1, 11))
    # And message info lists every other member
    info = laptop.do({"action": "receipts", "conversationId": conversation_id, "seq": 60})
    assert info is not None and len(info["members"]) == len(members)
    assert ddb_quirks.pages_cut > 60


# ---- an index that lags its table ---------------------------------------------------------------------


def test_presence_right_after_the_first_message_does_not_wait_for_the_index(
    device: Any, poster: FakePoster, ddb_quirks: Quirks
) -> None:
    # Given the byUser index shows nothing written in the last minute
    ddb_quirks.set(index_lag_s=60)
    alice, bob = device("alice"), device("bob")

    # When bob, who just got alice's first message, asks for her presence
    alice.send("hi", to="bob")
    reply = bob.do({"action": "subscribePresence", "userIds": ["alice"], "requestId": "p"})

    # Then he gets it: a direct chat is found on the table, not only through the index
    assert reply is None, reply
    assert poster.of_type(bob.connection_id, "presence")[-1]["userId"] == "alice"


def test_presence_of_a_brand_new_direct_chat_is_pushed_while_the_index_lags(
    device: Any, poster: FakePoster, ddb_quirks: Quirks
) -> None:
    # Given bob watches alice right after her first message, while the byUser index shows neither
    connections_stream = StreamReader.of_table("Connections")
    ddb_quirks.set(index_lag_s=60)
    alice, bob = device("alice"), device("bob")
    drain(connections_stream, "presence_push")
    alice.send("hi", to="bob")
    assert bob.do({"action": "subscribePresence", "userIds": ["alice"]}) is None

    # When alice goes, and her change is pushed (asking again whether bob may still see it)
    alice.disconnect()
    assert drain(connections_stream, "presence_push") == {"batchItemFailures": []}

    # Then bob is told: the direct chat is found on the table at push time too
    assert [f["online"] for f in poster.of_type(bob.connection_id, "presence")] == [True, False]
    assert ddb_quirks.index_items_lagging >= 1


def test_sync_through_a_lagging_index_catches_up_without_losing_a_message(
    device: Any, poster: FakePoster, ddb_quirks: Quirks
) -> None:
    # Given a conversation bob already has, and an index that lags
    alice, bob = device("alice"), device("bob")
    old = alice.send("old", to="bob")["conversationId"]
    ddb_quirks.set(index_lag_s=60)

    # When carol starts a chat with bob, bob reads the old one on his phone (changing his member row
    # there), and his laptop syncs within the lag, with its cursor on the old one
    carol = device("carol")
    new = carol.send("new", to="bob")["conversationId"]
    alice.send("newer in the old one", conversationId=old)
    assert bob.do({"action": "read", "conversationId": old, "seq": 2}) is None
    laptop = device("bob", "laptop")
    during = laptop.do({"action": "sync", "cursors": {old: 0}})

    # Then the conversations the index already shows are complete and in order: the one whose member
    # row just changed is still listed (as the index still has it)
    assert during is not None
    assert ddb_quirks.index_items_lagging >= 1
    assert old in {c["conversationId"] for c in during["conversations"]}
    assert [f["seq"] for f in poster.of_type(laptop.connection_id, "message") if f["conversationId"] == old] == [1, 2]
    # And once the index caught up, the next sync brings the new one with its message
    ddb_quirks.catch_up_indexes()
    poster.frames[laptop.connection_id].clear()
    after = laptop.do({"action": "sync", "cursors": {old: 2}})
    assert after is not None and new in {c["conversationId"] for c in after["conversations"]}
    assert [(f["conversationId"], f["seq"]) for f in poster.of_type(laptop.connection_id, "message")] == [(new, 1)]


# ---- transactions cancelled by a conflicting one --------------------------------------------------------


def test_every_transaction_retried_after_a_conflict_stores_exactly_once(
    device: Any, poster: FakePoster, messages_stream: StreamReader, receipts_stream: StreamReader, ddb_quirks: Quirks
) -> None:
    # Given every other transaction is cancelled with TransactionConflict: each operation below meets one
    ddb_quirks.set(transaction_conflicts="alternate")

    # Connecting (connection record + the user's list) still works
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    # Sending: gapless, each once
    conversation_id = alice.send("1", to="bob")["conversationId"]
    seqs = [alice.send(str(i), conversationId=conversation_id)["seq"] for i in range(2, 6)]
    assert seqs == [2, 3, 4, 5]
    assert run_fanout(messages_stream) == {"batchItemFailures": []}
    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [1, 2, 3, 4, 5]
    # Receipts: the watermark moves once
    assert bob.do({"action": "read", "conversationId": conversation_id, "seq": 5}) is None
    drain(receipts_stream, "receipt_push")
    assert [(f["kind"], f["seq"]) for f in poster.of_type(alice.connection_id, "receipt")][-1] == ("read", 5)
    # Groups: add and remove members
    group = alice.do({"action": "createGroup", "name": "g", "members": ["bob"]})
    assert group is not None and group["type"] == "group"
    added = alice.do({"action": "addMembers", "conversationId": group["conversationId"], "userIds": ["carol"]})
    assert added is not None and added["members"] == ["alice", "bob", "carol"], added
    removed = alice.do({"action": "removeMembers", "conversationId": group["conversationId"], "userIds": ["bob"]})
    assert removed is not None and removed["members"] == ["alice", "carol"], removed
    # Disconnecting: record and listing both go
    carol.disconnect()
    assert connections.live_connections("carol") == [] and users.endpoints_of(["carol"]) == []
    assert ddb_quirks.conflicts_caused > 5
