"""Frame parsing: what is a bad_request, an unknown_action or too_large, before any storage is touched."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.actions import frame_models, parse_client_frame
from chat.errors import BadRequest, TooLarge, UnknownAction
from chat.protocol import (
    ErrorOut,
    PresenceOut,
    SendFrame,
    SentOut,
    frame_context,
)


def test_every_protocol_action_has_a_model() -> None:
    assert set(frame_models()) == {
        "send", "delivered", "read", "sync", "history", "createGroup", "addMembers", "removeMembers",
        "leaveGroup", "subscribePresence", "typing", "receipts", "ping", "edit", "delete", "react", "mute", "unmute",
        "block", "unblock", "registerPush", "unregisterPush", "requestUpload",
    }  # fmt: skip


def test_a_valid_send_parses() -> None:
    frame = parse_client_frame(
        json.dumps({"action": "send", "to": "bob", "clientMsgId": "a-1_B", "body": {"text": "x"}})
    )
    assert isinstance(frame, SendFrame) and frame.to == "bob" and frame.body.text == "x"


@pytest.mark.parametrize(
    "raw, error",
    [
        ("", BadRequest),
        ("{", BadRequest),
        ('"ping"', BadRequest),
        ("{}", BadRequest),
        ('{"action": null}', BadRequest),
        ('{"action": "Ping"}', UnknownAction),
        ('{"action": "ping", "requestId": "' + "r" * 65 + '"}', BadRequest),
        ('{"action": "ping", "requestId": 1}', BadRequest),
        ('{"action": "history", "conversationId": "c", "limit": 50.0}', BadRequest),
        ('{"action": "typing", "conversationId": "c", "state": "paused"}', BadRequest),
        ('{"action": "read", "conversationId": "", "seq": 1}', BadRequest),
        ('{"action": "subscribePresence", "userIds": "bob"}', BadRequest),
        ('{"action": "addMembers", "conversationId": "c", "userIds": []}', BadRequest),
        ('{"action": "ping", "x": "' + "x" * (32 * 1024) + '"}', TooLarge),
        # Patterns match the whole value: `$` must not let a trailing newline through.
        ('{"action": "send", "to": "b", "clientMsgId": "m1\\n", "body": {"text": "x"}}', BadRequest),
    ],
)
def test_bad_frames_raise_their_protocol_error(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_client_frame(raw)


def test_frame_size_counts_utf8_bytes_not_characters() -> None:
    text = "€" * 4096  # 12 KB in UTF-8: fine
    parse_client_frame(
        json.dumps({"action": "send", "to": "b", "clientMsgId": "c", "body": {"text": text}}, ensure_ascii=False)
    )
    padding = "€" * 11_000  # 33 KB in UTF-8, 11 K characters
    with pytest.raises(TooLarge):
        parse_client_frame(json.dumps({"action": "ping", "requestId": "r", "pad": padding}, ensure_ascii=False))


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            '{"action": "send", "requestId": "r1", "clientMsgId": "c1", "junk": 1}',
            {"action": "send", "requestId": "r1", "clientMsgId": "c1"},
        ),
        ('{"action": 5, "requestId": ["x"]}', {}),
        ("not json", {}),
    ],
)
def test_error_frames_carry_what_is_known_of_the_frame(raw: str, expected: dict[str, Any]) -> None:
    assert frame_context(raw) == expected


def test_server_frames_send_null_fields_but_omit_absent_request_ids() -> None:
    assert PresenceOut(userId="a", online=False, lastSeen=None).wire() == {
        "type": "presence", "userId": "a", "online": False, "lastSeen": None,
    }  # fmt: skip
    assert "requestId" not in SentOut(conversationId="c", clientMsgId="m", seq=1, sentAt="t").wire()
    assert ErrorOut(code="internal", message="m").wire() == {"type": "error", "code": "internal", "message": "m"}


@pytest.mark.parametrize(
    "raw",
    [
        '{"action": "ping", "requestId": null}',
        '{"action": "send", "to": "bob", "conversationId": null, "clientMsgId": "c", "body": {"text": "x"}}',
        '{"action": "history", "conversationId": "c", "beforeSeq": null}',
    ],
)
def test_null_is_never_a_value_of_a_client_field(raw: str) -> None:
    with pytest.raises(BadRequest, match="must not be null"):
        parse_client_frame(raw)


CONTROL_CHARACTERS = ["\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\r", "\u001b", "\u001f", "\u007f", "\u0080",
                      "\u0085", "\u009b", "\u009f"]  # fmt: skip
FINE_CHARACTERS = ["\n", "\t", " ", "\u00a0", "\u00ff", "\u200b", "\u200d", "\u200f", "\u202e", "\u2028", "\ufeff",
                   "\U0001f600"]  # fmt: skip


def send_text(text: str) -> str:
    return json.dumps({"action": "send", "to": "b", "clientMsgId": "c", "body": {"text": text}})


def create_group_named(name: str) -> str:
    return json.dumps({"action": "createGroup", "name": name, "members": []})


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("frame", [send_text, create_group_named])
def test_text_people_read_refuses_control_characters_but_newline_and_tab(frame: Any, char: str) -> None:
    with pytest.raises(BadRequest, match=f"U\\+{ord(char):04X} is not allowed"):
        parse_client_frame(frame(f"before{char}after"))


@pytest.mark.parametrize("char", FINE_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("frame", [send_text, create_group_named])
def test_text_people_read_keeps_newline_tab_and_the_invisible_characters_of_real_text(frame: Any, char: str) -> None:
    parse_client_frame(frame(f"before{char}after"))


@pytest.mark.parametrize(
    "raw, complaint",
    [
        ("[" * 10_000 + "]" * 10_000, "not valid JSON"),  # deeper than the parser goes (and under 32 KB)
        ('{"action": "send", "body": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}", "not valid JSON"),
        ('{"action": "send", "to": "b", "clientMsgId": "c", "body": {"text": "a\\ud800"}}', "lone surrogate"),
        ('{"action": "createGroup", "name": "\\udfff", "members": []}', "lone surrogate"),
        ('{"action": "sync", "cursors": {"\\udc80": 1}}', "lone surrogate"),
        ('{"action": "ping", "requestId": "\\ud800"}', "lone surrogate"),
        ('{"action": "ping", "\\ud800": 1}', "lone surrogate"),
        ('{"action": "ping"}\udc80', "not UTF-8 text"),  # raw, as no text frame can carry it
    ],
)
def test_frames_nobody_could_store_or_answer_are_bad_requests(raw: str, complaint: str) -> None:
    with pytest.raises(BadRequest, match=complaint):
        parse_client_frame(raw)


def test_a_surrogate_pair_is_text() -> None:
    frame = parse_client_frame('{"action": "send", "to": "b", "clientMsgId": "c", "body": {"text": "\\ud83d\\ude00"}}')
    assert isinstance(frame, SendFrame) and frame.body.text == "\U0001f600"


def test_error_frames_never_echo_what_cannot_be_sent_as_utf8() -> None:
    raw = '{"action": "ping", "requestId": "r\\ud800", "clientMsgId": "ok"}'
    assert frame_context(raw) == {"action": "ping", "clientMsgId": "ok"}
    assert frame_context("[" * 10_000 + "]" * 10_000) == {}
