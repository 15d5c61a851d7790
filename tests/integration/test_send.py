"""send: membership, gapless seq under concurrency, idempotency by clientMsgId, errors store nothing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chat.store import conversations
from chat.store import messages as message_store


def stored_seqs(conversation_id: str) -> list[int]:
    return [m.seq for m in message_store.messages_after(conversation_id, 0, limit=1000)]


def test_first_message_creates_the_direct_conversation_with_seq_1(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")

    sent = alice.send("hello", client_msg_id="m1", to="bob", requestId="r1")

    assert sent["type"] == "sent" and sent["seq"] == 1 and sent["clientMsgId"] == "m1"
    assert sent["requestId"] == "r1"
    assert sent["sentAt"].endswith("Z") and len(sent["sentAt"]) == 24
    conversation_id = sent["conversationId"]
    assert stored_seqs(conversation_id) == [1]
    # Both users reach the same conversation, by `to` or by its id.
    assert device("bob", "tablet").send("hey", to="alice")["conversationId"] == conversation_id
    assert alice.send("again", conversationId=conversation_id)["seq"] == 3


def test_conversation_ids_are_opaque(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send(to="bob")["conversationId"]
    assert "alice" not in conversation_id and "bob" not in conversation_id


def test_resend_with_same_client_msg_id_returns_original_and_stores_nothing(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    first = alice.send("hello", client_msg_id="same", to="bob")
    conversation_id = first["conversationId"]

    again_by_to = alice.send("hello", client_msg_id="same", to="bob")
    again_by_id = device("alice", "laptop").send("hello", client_msg_id="same", conversationId=conversation_id)

    for again in (again_by_to, again_by_id):
        assert (again["seq"], again["sentAt"]) == (first["seq"], first["sentAt"])
    assert stored_seqs(conversation_id) == [1]
    # The same clientMsgId from the other user is a different message.
    assert device("bob", "phone2").send("yo", client_msg_id="same", conversationId=conversation_id)["seq"] == 2


def test_concurrent_senders_get_exactly_1_to_n(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send("first", to="bob")["conversationId"]
    senders = [device("alice", f"a{i}") for i in range(3)] + [device("bob", f"b{i}") for i in range(3)]
    per_sender = 5

    def burst(sender: Any) -> list[int]:
        return [sender.send(f"m{k}", conversationId=conversation_id)["seq"] for k in range(per_sender)]

    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        seqs = [seq for result in pool.map(burst, senders) for seq in result]

    total = 1 + len(senders) * per_sender
    assert sorted(seqs) == list(range(2, total + 1))
    assert stored_seqs(conversation_id) == list(range(1, total + 1))


def test_concurrent_retries_of_one_send_store_it_once(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send(to="bob")["conversationId"]
    devices = [device("alice", f"d{i}") for i in range(6)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(
            pool.map(lambda d: d.send("once", client_msg_id="retry-1", conversationId=conversation_id), devices)
        )

    assert {(r["seq"], r["sentAt"]) for r in replies} == {(2, replies[0]["sentAt"])}
    assert stored_seqs(conversation_id) == [1, 2]


def test_only_members_may_send(device: Any) -> None:
    alice, _bob, mallory = device("alice"), device("bob"), device("mallory")
    conversation_id = alice.send(to="bob")["conversationId"]

    reply = mallory.send("let me in", client_msg_id="x1", conversationId=conversation_id, requestId="q")

    assert reply == {
        "type": "error",
        "code": "forbidden",
        "message": reply["message"],
        "action": "send",
        "requestId": "q",
        "clientMsgId": "x1",
    }
    assert stored_seqs(conversation_id) == [1]


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"to": "alice"}, "bad_request"),  # to oneself
        ({"to": "nobody"}, "not_found"),
        ({"conversationId": "d_doesnotexist"}, "not_found"),
        ({"to": "bob", "conversationId": "x"}, "bad_request"),
        ({}, "bad_request"),
        ({"to": "bob", "clientMsgId": "has space"}, "bad_request"),
        ({"to": "bob", "clientMsgId": "x" * 65}, "bad_request"),
        ({"to": "bob", "body": {"text": ""}}, "bad_request"),
        ({"to": "bob", "body": {"text": "x" * 4097}}, "bad_request"),
        ({"to": "bob", "body": {"text": 5}}, "bad_request"),
        ({"to": "bob", "body": {"text": "hi", "bold": True}}, "bad_request"),
        ({"to": "bob", "senderId": "bob"}, "bad_request"),  # the sender is never a field of the frame
        ({"to": "bob", "requestId": ""}, "bad_request"),
        ({"to": "bob", "body": {"text": "nul\u0000"}}, "bad_request"),  # control characters but \\n and \\t
        ({"to": "bob", "body": {"text": "line\r\n"}}, "bad_request"),
        ({"to": "bob", "body": {"text": "\u001b[2J"}}, "bad_request"),
        ({"to": "bob", "body": {"text": "\u009b31m"}}, "bad_request"),
    ],
)
def test_bad_send_frames_get_their_error_and_store_nothing(device: Any, frame: dict[str, Any], code: str) -> None:
    alice, _bob = device("alice"), device("bob")
    full = {"action": "send", "clientMsgId": "c1", "body": {"text": "hi"}, **frame}

    reply = alice.call("send", full)

    assert reply is not None and reply["type"] == "error" and reply["code"] == code, reply
    assert reply["action"] == "send" and reply["message"]
    assert conversations.find_direct("alice", "bob") is None  # nothing stored, not even the conversation


def test_text_of_exactly_4096_characters_is_accepted(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    assert alice.send("é" * 4096, to="bob")["seq"] == 1


def test_text_keeps_newlines_tabs_and_invisible_characters_of_real_text(device: Any) -> None:
    alice, _bob = device("alice"), device("bob")
    text = "two\nlines\tand a tab, \u05e9\u05dc\u05d5\u05dd \u200f, \U0001f469\u200d\U0001f4bb"  # RTL mark, ZWJ emoji
    sent = alice.send(text, to="bob")
    history = alice.do({"action": "history", "conversationId": sent["conversationId"]})
    assert history is not None and history["messages"][0]["body"]["text"] == text


@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"no": "action"}', "bad_request"),
        ('{"action": "fly"}', "unknown_action"),
        ('{"action": 7}', "bad_request"),
        ('{"action": "ping", "pad": "' + "x" * 33_000 + '"}', "too_large"),
    ],
)
def test_frames_matching_no_route_get_their_error(device: Any, raw: str, code: str) -> None:
    alice = device("alice")
    reply = alice.call("default", raw=raw)
    assert reply is not None and reply["type"] == "error" and reply["code"] == code


def test_ping_answers_pong_with_request_id(device: Any) -> None:
    assert device("alice").call("ping", {"action": "ping", "requestId": "p1"}) == {"type": "pong", "requestId": "p1"}


def test_internal_failures_answer_internal_and_keep_the_request_id(device: Any, monkeypatch: Any) -> None:
    from chat import messages

    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(messages, "send_message", broken)
    reply = device("alice").call(
        "send",
        {"action": "send", "to": "bob", "clientMsgId": "c", "body": {"text": "x"}, "requestId": uuid.uuid4().hex},
    )
    assert reply is not None and reply["code"] == "internal" and "boom" not in reply["message"]
