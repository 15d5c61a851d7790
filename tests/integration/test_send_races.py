"""The send path's promises under the races and inputs that a quiet test run never produces: each
test forces its race deterministically and would fail if the rule it guards were dropped."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chat import messages
from chat.domain import Caller
from chat.store import client_msg_ids, members
from chat.store import messages as message_store
from chat.store.models import ClientMsgIdModel, ConversationModel
from chat.store.writes import Cancelled, Put, Update, transact
from tests.integration.support import FakePoster

DAY_S = 24 * 3600


def test_cancellation_reasons_name_the_items_that_failed_not_their_positions(aws: None) -> None:
    # Given a transaction whose first item (an update) fails its condition and whose second (a put) would not:
    # PynamoDB sends puts before updates, so the reasons come back in another order than the items were given
    update = Update(
        ConversationModel(conversation_id="c-missing"),
        [ConversationModel.last_seq.set(1)],
        ConversationModel.conversation_id.exists(),
        role="the update",
    )
    put = Put(ConversationModel(conversation_id="c-new", kind="group", created_at="now"), role="the put")
    with pytest.raises(Cancelled) as cancelled:
        transact([update, put])
    assert cancelled.value.failed == {"the update"}


def test_a_sender_removed_between_the_check_and_the_commit_is_forbidden(
    device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, carol = device("owner"), device("carol")
    group = owner.do({"action": "createGroup", "name": "g", "members": ["carol"]})
    assert group is not None
    conversation_id = group["conversationId"]

    # Given carol is removed after her send checked her membership and before it committed
    original = message_store.append_message

    def removed_meanwhile(*args: Any, **kwargs: Any) -> None:
        reply = owner.do({"action": "removeMembers", "conversationId": conversation_id, "userIds": ["carol"]})
        assert reply is not None and reply["members"] == ["owner"], reply
        original(*args, **kwargs)

    monkeypatch.setattr(message_store, "append_message", removed_meanwhile)
    reply = carol.send("too late", conversationId=conversation_id)

    # Then the commit's own membership condition refuses it, as forbidden (not internal), and stores nothing
    assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
    assert message_store.messages_after(conversation_id, 0) == []


def test_a_retry_racing_its_original_is_stored_once(device: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send("first", to="bob")["conversationId"]
    caller = Caller(user_id="alice", device_id="phone", connection_id=alice.connection_id)

    # Given a retry that looked for its clientMsgId just before the original stored it (so found none),
    # and then read lastSeq after the original moved it: only the transaction's clientMsgId condition is left
    original_find = client_msg_ids.find_sent
    raced = False

    def original_lands_meanwhile(*args: Any) -> Any:
        nonlocal raced
        if not raced:
            raced = True
            monkeypatch.setattr(client_msg_ids, "find_sent", original_find)
            first = messages.send_message(caller, conversation_id, None, "same-id", "hello")
            monkeypatch.setattr(client_msg_ids, "find_sent", original_lands_meanwhile)
            assert first.seq == 2
            return None
        return original_find(*args)

    monkeypatch.setattr(client_msg_ids, "find_sent", original_lands_meanwhile)
    retried = messages.send_message(caller, conversation_id, None, "same-id", "hello")

    # Then the retry answers the original's seq, and the conversation holds the message once
    assert retried.seq == 2
    stored = message_store.messages_after(conversation_id, 0)
    assert [(m.seq, m.client_msg_id == "same-id") for m in stored] == [(1, False), (2, True)]


def test_one_client_msg_id_in_two_conversations_is_two_messages(device: Any) -> None:
    alice, _bob, _carol = device("alice"), device("bob"), device("carol")
    to_bob = alice.send("hi bob", client_msg_id="same", to="bob")
    to_carol = alice.send("hi carol", client_msg_id="same", to="carol")
    assert to_bob["conversationId"] != to_carol["conversationId"]
    assert (to_bob["seq"], to_carol["seq"]) == (1, 1)
    assert message_store.messages_after(to_carol["conversationId"], 0)[0].text == "hi carol"


def test_a_client_msg_id_is_remembered_for_at_least_24_hours(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    before = int(time.time())
    sent = alice.send("hi", client_msg_id="remember-me", to="bob")
    (record,) = [r for r in ClientMsgIdModel.scan() if r.conversation_id == sent["conversationId"]]
    assert int(record.expires_at) >= before + DAY_S  # the protocol promises at least 24 h


def test_a_sync_cursor_below_the_join_point_is_raised_to_it(device: Any, poster: FakePoster) -> None:
    owner, _early = device("owner"), device("early")
    group = owner.do({"action": "createGroup", "name": "g", "members": ["early"]})
    assert group is not None
    conversation_id = group["conversationId"]
    for i in range(1, 4):
        owner.send(f"before {i}", conversationId=conversation_id)
    late = device("late")
    added = owner.do({"action": "addMembers", "conversationId": conversation_id, "userIds": ["late"]})
    assert added is not None and "late" in added["members"]
    owner.send("after", conversationId=conversation_id)
    assert members.get_member(conversation_id, "late") is not None

    # When the newcomer syncs with a cursor of 0 (a client that only knows the id)
    reply = late.do({"action": "sync", "cursors": {conversation_id: 0}})

    # Then it gets only what came after it joined
    assert reply is not None and reply["type"] == "synced"
    assert [f["body"]["text"] for f in poster.of_type(late.connection_id, "message")] == ["after"]
