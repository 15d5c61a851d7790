"""Every kind of bad frame gets the error code PROTOCOL.md gives it, and stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import is_message, unique

BOB = "<bob>"  # replaced by the test's bob
ALICE = "<alice>"
CONVERSATION = "<conversation>"  # alice and bob's conversation
OTHERS = "<others>"  # a conversation alice is not a member of


def send(**fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"action": "send", "to": BOB, "clientMsgId": "ok-id", "body": {"text": "hi"}}
    frame.update(fields)
    return {k: v for k, v in frame.items() if v is not None}


CASES: list[tuple[str, Any, str]] = [
    ("not JSON", "hello", "bad_request"),
    ("JSON but not an object", "[1, 2]", "bad_request"),
    ("a JSON string", '"send"', "bad_request"),
    ("no action", {"to": BOB}, "bad_request"),
    ("action not a string", {"action": 5}, "bad_request"),
    ("unknown action", {"action": "fly"}, "unknown_action"),
    ("unknown field", send(colour="red"), "bad_request"),
    ("unknown field in body", send(body={"text": "hi", "bold": True}), "bad_request"),
    ("missing clientMsgId", send(clientMsgId=None), "bad_request"),
    ("missing body", send(body=None), "bad_request"),
    ("missing text", send(body={}), "bad_request"),
    ("text of the wrong type", send(body={"text": 5}), "bad_request"),
    ("body of the wrong type", send(body="hi"), "bad_request"),
    ("empty text", send(body={"text": ""}), "bad_request"),
    ("text of 4097 characters", send(body={"text": "é" * 4097}), "bad_request"),
    ("frame over 32 KB", send(body={"text": "x" * 4000}, pad="y" * 33_000), "too_large"),
    ("clientMsgId with a space", send(clientMsgId="has space"), "bad_request"),
    ("clientMsgId too long", send(clientMsgId="x" * 65), "bad_request"),
    ("empty clientMsgId", send(clientMsgId=""), "bad_request"),
    ("both to and conversationId", send(conversationId=CONVERSATION), "bad_request"),
    ("neither to nor conversationId", send(to=None), "bad_request"),
    ("send to self", send(to=ALICE), "bad_request"),
    ("send to an unknown user", send(to="nobody-" + uuid.uuid4().hex), "not_found"),
    ("send to an unknown conversation", send(to=None, conversationId="d_" + uuid.uuid4().hex), "not_found"),
    ("send to a conversation one is not in", send(to=None, conversationId=OTHERS), "forbidden"),
    ("requestId too long", {"action": "ping", "requestId": "r" * 65}, "bad_request"),
]


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("case", "frame", "code"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_frame_gets_its_error_and_stores_nothing(ws_connect, case: str, frame: Any, code: str) -> None:
    alice, bob, carol, dave = unique("alice"), unique("bob"), unique("carol"), unique("dave")
    alice_phone = await ws_connect(alice)
    bob_phone = await ws_connect(bob)
    carol_phone = await ws_connect(carol)
    await ws_connect(dave)
    first = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "first", "body": {"text": "1"}})
    others = await carol_phone.request({"action": "send", "to": dave, "clientMsgId": "c1", "body": {"text": "1"}})
    names = {BOB: bob, ALICE: alice, CONVERSATION: first["conversationId"], OTHERS: others["conversationId"]}

    request_id = "req-" + uuid.uuid4().hex[:8]
    if isinstance(frame, str):
        await alice_phone.send(frame)
        error = await alice_phone.wait_for(lambda f: f.get("type") == "error")
    else:
        frame = fill(frame, names)
        if "requestId" not in frame:
            frame["requestId"] = request_id
        await alice_phone.send(json.dumps(frame))
        error = await alice_phone.wait_for(lambda f: f.get("type") == "error")
        if len(frame["requestId"]) <= 64:
            assert error.get("requestId") == request_id, error

    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]

    # Nothing was stored: the next messages get the next seqs, in both conversations.
    second = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "second", "body": {"text": "2"}})
    assert (second["conversationId"], second["seq"]) == (first["conversationId"], 2)
    again = await carol_phone.request({"action": "send", "to": dave, "clientMsgId": "c2", "body": {"text": "2"}})
    assert again["seq"] == 2
    await bob_phone.wait_for(is_message(first["conversationId"], 2))
    assert [m["seq"] for m in bob_phone.received(is_message(first["conversationId"]))] == [1, 2]


async def test_the_longest_text_is_accepted(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice)
    bob_phone = await ws_connect(bob)
    text = "é" * 4096  # characters, not bytes: 8 KB of UTF-8
    sent = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "long", "body": {"text": text}})
    assert sent["type"] == "sent"
    message = await bob_phone.wait_for(is_message(sent["conversationId"], 1))
    assert message["body"]["text"] == text


async def test_errors_name_the_action_and_client_msg_id(ws_connect) -> None:
    alice = unique("alice")
    alice_phone = await ws_connect(alice)
    error = await alice_phone.request(
        {"action": "send", "to": alice, "clientMsgId": "to-me", "body": {"text": "hello me"}}
    )
    assert error["type"] == "error"
    assert (error.get("action"), error.get("clientMsgId")) == ("send", "to-me")
