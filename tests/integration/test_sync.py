"""sync and history: offline devices and new devices end up with the same messages and read state."""

from __future__ import annotations

from typing import Any

import pytest

from chat import sync as sync_module
from tests.integration.support import FakePoster


def synced(dev: Any, poster: FakePoster, cursors: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    poster.frames[dev.connection_id].clear()
    reply = dev.do({"action": "sync", "cursors": cursors, "requestId": "s"})
    assert reply is not None and reply["type"] == "synced" and reply["requestId"] == "s", reply
    return poster.of_type(dev.connection_id, "message"), reply


@pytest.fixture
def history_of_five(device: Any) -> Any:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("1", to="bob")["conversationId"]
    for i in range(2, 6):
        (bob if i % 2 else alice).send(str(i), conversationId=conversation_id)
    return alice, bob, conversation_id


def test_sync_returns_every_message_after_the_cursor_in_order_then_synced(
    history_of_five: Any, poster: FakePoster
) -> None:
    _alice, bob, conversation_id = history_of_five
    bob.do({"action": "read", "conversationId": conversation_id, "seq": 4})

    messages, reply = synced(bob, poster, {conversation_id: 2})

    assert [m["seq"] for m in messages] == [3, 4, 5]
    assert messages[0]["body"] == {"text": "3"} and messages[0]["senderId"] == "bob"
    [summary] = reply["conversations"]
    assert summary["conversationId"] == conversation_id and summary["kind"] == "direct"
    assert sorted(summary["members"]) == ["alice", "bob"]
    assert (summary["lastSeq"], summary["firstSeqSent"], reply["complete"]) == (5, 3, True)
    watermarks = {(r["userId"], r["kind"]): r["seq"] for r in summary["receipts"]}
    assert watermarks == {("alice", "delivered"): 4, ("alice", "read"): 4, ("bob", "delivered"): 5, ("bob", "read"): 5}


def test_a_new_device_gets_the_newest_50_then_history_pages_back(
    device: Any, poster: FakePoster, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sync_module, "NEWEST_FOR_UNKNOWN", 3)
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send("1", to="bob")["conversationId"]
    for i in range(2, 8):
        alice.send(str(i), conversationId=conversation_id)
    bob_new = device("bob", "new-phone")

    messages, reply = synced(bob_new, poster, {})

    assert [m["seq"] for m in messages] == [5, 6, 7]
    assert reply["conversations"][0]["firstSeqSent"] == 5
    page = bob_new.do({"action": "history", "conversationId": conversation_id, "beforeSeq": 5, "limit": 3})
    assert page is not None and [m["seq"] for m in page["messages"]] == [2, 3, 4] and page["hasMore"] is True
    last = bob_new.do({"action": "history", "conversationId": conversation_id, "beforeSeq": 2})
    assert last is not None and [m["seq"] for m in last["messages"]] == [1] and last["hasMore"] is False


def test_an_up_to_date_cursor_gets_no_messages(history_of_five: Any, poster: FakePoster) -> None:
    _alice, bob, conversation_id = history_of_five
    messages, reply = synced(bob, poster, {conversation_id: 5})
    assert messages == [] and reply["conversations"][0]["firstSeqSent"] is None


def test_sync_pages_with_complete_false(history_of_five: Any, poster: FakePoster, monkeypatch: Any) -> None:
    monkeypatch.setattr(sync_module, "MAX_MESSAGES_PER_SYNC", 2)
    _alice, bob, conversation_id = history_of_five
    cursor, seen = 0, []
    for _ in range(5):
        messages, reply = synced(bob, poster, {conversation_id: cursor})
        seen += [m["seq"] for m in messages]
        cursor = seen[-1] if seen else 0
        if reply["complete"]:
            break
        assert len(messages) == 2
    assert seen == [1, 2, 3, 4, 5] and reply["complete"] is True


def test_read_state_follows_the_user_to_another_device(history_of_five: Any, device: Any, poster: FakePoster) -> None:
    _alice, bob, conversation_id = history_of_five
    bob.do({"action": "read", "conversationId": conversation_id, "seq": 4})
    _, reply = synced(device("bob", "laptop"), poster, {})
    bob_read = [r for r in reply["conversations"][0]["receipts"] if r["userId"] == "bob" and r["kind"] == "read"]
    assert bob_read[0]["seq"] == 5  # bob sent 5 himself, which reads everything before it


def test_group_sync_carries_the_all_members_watermarks(device: Any, poster: FakePoster) -> None:
    ann, _ben = device("ann"), device("ben")
    group = ann.do({"action": "createGroup", "name": "duo", "members": ["ben"]})["conversationId"]  # type: ignore[index]
    ann.send("hi", conversationId=group)
    _, reply = synced(ann, poster, {})
    [summary] = reply["conversations"]
    assert summary["kind"] == "group" and summary["name"] == "duo" and summary["admins"] == ["ann"]
    kinds = {(r["userId"], r["kind"]) for r in summary["receipts"]}
    assert {("*", "delivered"), ("*", "read"), ("ann", "read")} <= kinds and ("ben", "read") not in kinds


def test_every_frame_stays_under_32_kb(device: Any, poster: FakePoster) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("é" * 4096, to="bob")["conversationId"]
    for _ in range(7):
        alice.send("€" * 4096, conversationId=conversation_id)  # 3 bytes each in UTF-8

    page = bob.do({"action": "history", "conversationId": conversation_id, "limit": 100})
    assert page is not None
    import json

    assert len(json.dumps(page, ensure_ascii=False).encode()) < 32 * 1024
    assert page["hasMore"] is True and page["messages"][-1]["seq"] == 8
    messages, _ = synced(bob, poster, {})
    assert all(len(json.dumps(m, ensure_ascii=False).encode()) < 32 * 1024 for m in messages)


@pytest.mark.parametrize(
    "frame", [{"cursors": []}, {"cursors": {"c": -1}}, {"cursors": {"c": "1"}}, {"limit": 0}, {"limit": 101}]
)
def test_bad_sync_and_history_frames(device: Any, frame: dict[str, Any]) -> None:
    action = "sync" if "cursors" in frame else "history"
    extra = {} if action == "sync" else {"conversationId": "x"}
    reply = device("alice").do({"action": action, **extra, **frame})
    assert reply is not None and reply["code"] == "bad_request"
