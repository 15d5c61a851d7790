"""docs/asyncapi.yaml: current with chat/protocol.py, complete, valid AsyncAPI 3.0, and saying what the models do."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import jsonschema
import pytest
from pydantic import BaseModel

from chat.actions import frame_models, parse_client_frame
from chat.errors import BadRequest
from chat.protocol import SERVER_FRAMES, ErrorOut
from tests.asyncapi import DOCUMENT, document, schema_validator

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_asyncapi.py"
VALIDATOR = ROOT / "scripts" / "validate_asyncapi.mjs"
PARSER_PACKAGE = ROOT / "node_modules" / "@asyncapi" / "parser" / "package.json"

# The direct replies of docs/PROTOCOL.md's client frame table (`error` is possible for every frame).
PROTOCOL_REPLIES = {
    "send": ["sent"],
    "delivered": [],
    "read": [],
    "sync": ["message", "synced"],
    "history": ["history"],
    "createGroup": ["group"],
    "addMembers": ["group"],
    "removeMembers": ["group"],
    "leaveGroup": ["group"],
    "subscribePresence": ["presence"],
    "typing": [],
    "receipts": ["receipts"],
    "ping": ["pong"],
    "edit": ["messageChanged"],
    "delete": ["messageChanged"],
    "react": ["messageChanged"],
    "mute": ["muted"],
    "unmute": ["muted"],
    "block": ["blocked"],
    "unblock": ["blocked"],
    "registerPush": ["pushRegistered"],
    "unregisterPush": ["pushUnregistered"],
    "requestUpload": ["uploadReady"],
}
PROTOCOL_ERROR_CODES = [
    "bad_request", "unknown_action", "too_large", "not_found",
    "forbidden", "limit_exceeded", "rate_limited", "internal",
]  # fmt: skip


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_asyncapi", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def server_type(model: type[BaseModel]) -> str:
    return str(get_args(model.model_fields["type"].annotation)[0])


def payload_validator(model: type[BaseModel]) -> jsonschema.Draft7Validator:
    """The model's payload schema from the document, as AsyncAPI's default (draft-07 based) format reads it."""
    return schema_validator(model.__name__)


# ---- current and complete -------------------------------------------------------------------------


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == generator().render(), (
        "docs/asyncapi.yaml is out of date with chat/protocol.py: run .venv/bin/python scripts/generate_asyncapi.py"
    )


def test_check_mode_exits_non_zero_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(DOCUMENT.read_text(encoding="utf-8").replace("version: '1'", "version: '0'"), encoding="utf-8")
    check = [sys.executable, str(GENERATOR), "--check", "--output"]

    assert subprocess.run([*check, str(DOCUMENT)], capture_output=True, text=True, check=False).returncode == 0
    result = subprocess.run([*check, str(stale)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "-  version: '0'" in result.stdout and "out of date" in result.stderr
    result = subprocess.run([*check, str(tmp_path / "missing.yaml")], capture_output=True, text=True, check=False)
    assert result.returncode == 1


def test_generation_is_deterministic() -> None:
    assert generator().render() == generator().render()


def test_every_client_action_has_a_message_and_a_receive_operation() -> None:
    doc = document()
    for action, model in frame_models().items():
        message = doc["components"]["messages"][f"client.{action}"]
        assert message["name"] == action
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert doc["channels"]["socket"]["messages"][f"client.{action}"] == {
            "$ref": f"#/components/messages/client.{action}"
        }
        operation = doc["operations"][f"receive.{action}"]
        assert operation["action"] == "receive"
        assert operation["messages"] == [{"$ref": f"#/channels/socket/messages/client.{action}"}]


def test_every_server_frame_type_has_a_message_and_a_send_operation() -> None:
    doc = document()
    for model in SERVER_FRAMES:
        frame_type = server_type(model)
        message = doc["components"]["messages"][f"server.{frame_type}"]
        assert message["name"] == frame_type
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        operation = doc["operations"][f"send.{frame_type}"]
        assert operation["action"] == "send"
        assert operation["messages"] == [{"$ref": f"#/channels/socket/messages/server.{frame_type}"}]
    names = {message["name"] for message in doc["components"]["messages"].values()}
    assert names == set(frame_models()) | {server_type(model) for model in SERVER_FRAMES}


def test_replies_are_the_protocols_direct_replies_and_error() -> None:
    assert set(PROTOCOL_REPLIES) == set(frame_models())
    for action, replies in PROTOCOL_REPLIES.items():
        reply = document()["operations"][f"receive.{action}"]["reply"]
        assert reply["messages"] == [
            {"$ref": f"#/channels/socket/messages/server.{frame_type}"} for frame_type in [*replies, "error"]
        ], action


def test_error_codes_are_the_models_and_the_protocols() -> None:
    code = document()["components"]["schemas"]["ErrorOut"]["properties"]["code"]
    assert code["enum"] == list(get_args(ErrorOut.model_fields["code"].annotation)) == PROTOCOL_ERROR_CODES


def test_handshake_query_and_servers() -> None:
    doc = document()
    query = doc["channels"]["socket"]["bindings"]["ws"]["query"]
    assert query["required"] == ["token", "deviceId"]
    assert query["properties"]["deviceId"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    production, local = doc["servers"]["production"], doc["servers"]["local"]
    assert (production["protocol"], production["host"], production["pathname"]) == (
        "wss",
        "{apiId}.execute-api.{region}.amazonaws.com",
        "/{stage}",
    )
    assert set(production["variables"]) == {"apiId", "region", "stage"}
    assert (local["protocol"], local["host"], local["pathname"]) == ("ws", "127.0.0.1:{port}", "/ws")


def test_no_2020_12_only_keywords_reach_the_document() -> None:
    text = json.dumps(document()["components"]["schemas"])
    for keyword in ("$defs", "prefixItems", "unevaluatedProperties", "dependentRequired"):
        assert f'"{keyword}"' not in text


# ---- valid AsyncAPI (the official parser) ---------------------------------------------------------


def test_the_document_is_valid_asyncapi() -> None:
    node = shutil.which("node")
    assert node, "node (Node.js 20) is needed to validate docs/asyncapi.yaml"
    assert PARSER_PACKAGE.exists(), (
        "@asyncapi/parser is not installed: run `npm install --no-audit --no-fund` in the repository root"
    )
    result = subprocess.run(
        [node, str(VALIDATOR), "docs/asyncapi.yaml"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "valid AsyncAPI 3.0.0 document" in result.stdout


# ---- the schemas say what the models do ------------------------------------------------------------

VALID_CLIENT_FRAMES: list[dict[str, Any]] = [
    {"action": "send", "conversationId": "c1", "clientMsgId": "m-1", "body": {"text": "hi"}, "requestId": "r1"},
    {"action": "send", "to": "bob", "clientMsgId": "m_2", "body": {"text": "x" * 4096}},
    {"action": "send", "to": "bob", "clientMsgId": "m_3", "body": {"text": "two\nlines\tand \u200d\u202e"}},
    {"action": "delivered", "conversationId": "c1", "seq": 3},
    {"action": "sync", "cursors": {}},
    {"action": "sync", "cursors": {"c1": 0, "c2": 7}},
    {"action": "sync"},
    {"action": "history", "conversationId": "c1"},
    {"action": "history", "conversationId": "c1", "beforeSeq": 10, "limit": 100},
    {"action": "createGroup", "name": "team", "members": ["bob", "carol"]},
    {"action": "addMembers", "conversationId": "g1", "userIds": ["dave"]},
    {"action": "removeMembers", "conversationId": "g1", "userIds": ["dave"]},
    {"action": "leaveGroup", "conversationId": "g1"},
    {"action": "subscribePresence", "userIds": ["bob"]},
    {"action": "typing", "conversationId": "c1", "state": "start"},
    {"action": "receipts", "conversationId": "c1", "seq": 2},
    {"action": "ping"},
    {"action": "ping", "requestId": "p" * 64},
    {"action": "requestUpload", "conversationId": "c1", "contentType": "image/png", "size": 1024, "name": "a.png"},
    {"action": "requestUpload", "conversationId": "c1", "contentType": "application/pdf", "size": 16 * 1024 * 1024},
    {
        "action": "send",
        "conversationId": "c1",
        "clientMsgId": "m4",
        "body": {"text": ""},
        "attachment": {"attachmentId": "a" * 32, "contentType": "image/png", "size": 1024, "width": 640, "height": 480},
    },
]
INVALID_CLIENT_FRAMES: list[dict[str, Any]] = [
    {"action": "send", "to": "bob", "conversationId": None, "clientMsgId": "m3", "body": {"text": "hi"}},
    {"action": "read", "conversationId": "c1", "seq": 1, "requestId": None},
    {"action": "send", "conversationId": "c1", "to": "bob", "clientMsgId": "m1", "body": {"text": "hi"}},
    {"action": "send", "clientMsgId": "m1", "body": {"text": "hi"}},
    {"action": "send", "conversationId": None, "to": None, "clientMsgId": "m1", "body": {"text": "hi"}},
    {"action": "send", "to": "bob", "clientMsgId": "m 1", "body": {"text": "hi"}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": ""}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": "x" * 4097}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": "hi", "html": "<b>hi</b>"}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": "nul \u0000"}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": "crlf\r\n"}},
    {"action": "send", "to": "bob", "clientMsgId": "m1", "body": {"text": "del \u007f, csi \u009b"}},
    {"action": "createGroup", "name": "esc \u001b[2J", "members": []},
    {"action": "delivered", "conversationId": "c1", "seq": 0},
    {"action": "delivered", "conversationId": "c1", "seq": "3"},
    {"action": "read", "conversationId": "c1"},
    {"action": "sync", "cursors": {"c1": -1}},
    {"action": "history", "conversationId": "c1", "limit": 101},
    {"action": "history", "conversationId": "", "limit": 1},
    {"action": "createGroup", "name": "", "members": []},
    {"action": "addMembers", "conversationId": "g1", "userIds": []},
    {"action": "typing", "conversationId": "c1", "state": "paused"},
    {"action": "ping", "extra": True},
    {"action": "ping", "requestId": ""},
    {"action": "requestUpload", "conversationId": "c1", "contentType": "text/html", "size": 1024},
    {"action": "requestUpload", "conversationId": "c1", "contentType": "image/png", "size": 16 * 1024 * 1024 + 1},
    {"action": "requestUpload", "conversationId": "c1", "contentType": "image/png", "size": 0},
    {"action": "requestUpload", "contentType": "image/png", "size": 10},
    {
        "action": "send",
        "to": "bob",
        "clientMsgId": "m5",
        "body": {"text": ""},
        "attachment": {"attachmentId": "a" * 32, "contentType": "image/png", "size": 1024},
    },
    {
        "action": "send",
        "conversationId": "c1",
        "clientMsgId": "m6",
        "body": {"text": "hi"},
        "attachment": {"attachmentId": "nope", "contentType": "image/png", "size": 1024},
    },
    {
        "action": "send",
        "conversationId": "c1",
        "clientMsgId": "m7",
        "body": {"text": "hi"},
        "attachment": {"attachmentId": "a" * 32, "contentType": "image/png", "size": 1024, "name": None},
    },
]


@pytest.mark.parametrize("frame", VALID_CLIENT_FRAMES, ids=lambda frame: frame["action"])
def test_a_frame_the_server_accepts_matches_its_schema(frame: dict[str, Any]) -> None:
    parse_client_frame(json.dumps(frame))
    errors = [error.message for error in payload_validator(frame_models()[frame["action"]]).iter_errors(frame)]
    assert errors == []


@pytest.mark.parametrize("frame", INVALID_CLIENT_FRAMES, ids=lambda frame: frame["action"])
def test_a_frame_the_server_refuses_does_not_match_its_schema(frame: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        parse_client_frame(json.dumps(frame))
    assert not payload_validator(frame_models()[frame["action"]]).is_valid(frame)


def _server_frames() -> list[Any]:
    from chat.protocol import (
        AttachmentOut,
        BlockedOut,
        ConversationReceipt,
        ConversationSummary,
        GroupOut,
        HistoryOut,
        MemberReceipt,
        MessageChangedOut,
        MessageOut,
        MessageText,
        MutedOut,
        PongOut,
        PresenceOut,
        PushRegisteredOut,
        PushUnregisteredOut,
        ReceiptOut,
        ReceiptsOut,
        SentOut,
        SyncedOut,
        TypingOut,
        UploadReadyOut,
    )

    at = "2026-11-27T19:31:40.123Z"
    message = MessageOut(
        conversationId="c1",
        seq=1,
        senderId="alice",
        senderDeviceId="phone",
        clientMsgId="m1",
        body=MessageText(text="hi"),
        sentAt=at,
    )
    # A reply, edited, with reactions; and one deleted for everyone.
    changed = message.model_copy(update={"replyTo": 1, "seq": 2, "editedAt": at, "reactions": {"bob": "👍"}})
    deleted = message.model_copy(update={"body": MessageText(text=""), "deleted": True})
    photo = AttachmentOut(
        attachmentId="a" * 32,
        contentType="image/png",
        size=1024,
        name="beach.png",
        width=640,
        height=480,
        url="https://bucket.s3.amazonaws.com/attachments/c1/aaa?X-Amz-Signature=x",
        urlExpiresAt=at,
    )
    file = AttachmentOut(
        attachmentId="b" * 32, contentType="application/pdf", size=9, url="https://s3/x", urlExpiresAt=at
    )
    with_photo = message.model_copy(update={"seq": 3, "body": MessageText(text=""), "attachment": photo})
    return [
        message,
        changed,
        with_photo,
        message.model_copy(update={"seq": 4, "attachment": file}),
        UploadReadyOut(
            attachmentId="a" * 32,
            url="https://bucket.s3.amazonaws.com/",
            fields={"key": "uploads/c1/" + "a" * 32, "policy": "e30=", "Content-Type": "image/png"},
            expiresAt=at,
            maxSize=1024,
            requestId="u1",
        ),
        MessageChangedOut(conversationId="c1", change=3, kind="edited", by="alice", at=at, message=changed),
        MessageChangedOut(
            conversationId="c1", change=4, kind="deleted", by="alice", at=at, message=deleted, requestId="r3"
        ),
        MutedOut(conversationId="c1", muted=True, until=None),
        MutedOut(conversationId="c1", muted=True, until=at, requestId="r4"),
        MutedOut(conversationId="c1", muted=False, until=None),
        BlockedOut(userId="bob", blocked=True),
        BlockedOut(userId="bob", blocked=False, requestId="r5"),
        PushRegisteredOut(platform="apns"),
        PushRegisteredOut(platform="webpush", previews=False, requestId="r6"),
        PushUnregisteredOut(),
        PushUnregisteredOut(requestId="r7"),
        SentOut(conversationId="c1", clientMsgId="m1", seq=1, sentAt=at),
        SentOut(conversationId="c1", clientMsgId="m1", seq=1, sentAt=at, requestId="r1"),
        ReceiptOut(conversationId="g1", userId="*", kind="read", seq=4, at=at),
        PresenceOut(userId="bob", online=True, lastSeen=None),
        PresenceOut(userId="bob", online=False, lastSeen=at),
        TypingOut(conversationId="c1", userId="bob", state="stop"),
        GroupOut(conversationId="g1", name="team", members=["a", "b"], admins=["a"], change="created", by="a"),
        SyncedOut(
            conversations=[
                ConversationSummary(
                    conversationId="c1",
                    kind="direct",
                    name=None,
                    members=["alice", "bob"],
                    admins=[],
                    lastSeq=1,
                    firstSeqSent=None,
                    receipts=[ConversationReceipt(userId="bob", kind="delivered", seq=1, at=None)],
                    lastChange=4,
                )
            ],
            complete=True,
            requestId="r2",
        ),
        HistoryOut(conversationId="c1", messages=[message], hasMore=False),
        ReceiptsOut(conversationId="g1", seq=1, members=[MemberReceipt(userId="b", deliveredAt=at, readAt=None)]),
        PongOut(),
        ErrorOut(code="bad_request", message="unknown field 'x'", action="send", clientMsgId="m1"),
        ErrorOut(code="internal", message="try again"),
        ErrorOut(code="rate_limited", message="slow down", action="send", clientMsgId="m1", retryAfterMs=250),
    ]


def test_the_sample_server_frames_cover_every_type() -> None:
    assert {frame.type for frame in _server_frames()} == {server_type(model) for model in SERVER_FRAMES}


@pytest.mark.parametrize("frame", _server_frames(), ids=lambda frame: frame.type)
def test_what_the_server_sends_matches_its_schema(frame: Any) -> None:
    wire = frame.wire()
    errors = [error.message for error in payload_validator(type(frame)).iter_errors(wire)]
    assert errors == []
    # ... and the schema is not vacuous: the frame without its `type` is refused.
    assert not payload_validator(type(frame)).is_valid({k: v for k, v in wire.items() if k != "type"})


def test_retry_after_comes_with_rate_limited_and_only_with_it() -> None:
    validator = payload_validator(ErrorOut)
    assert validator.is_valid({"type": "error", "code": "rate_limited", "message": "m", "retryAfterMs": 1})
    assert not validator.is_valid({"type": "error", "code": "rate_limited", "message": "m"})
    assert not validator.is_valid({"type": "error", "code": "bad_request", "message": "m", "retryAfterMs": 5})
    assert not validator.is_valid({"type": "error", "code": "rate_limited", "message": "m", "retryAfterMs": 0})
    with pytest.raises(ValueError):
        ErrorOut(code="rate_limited", message="m")
    with pytest.raises(ValueError):
        ErrorOut(code="forbidden", message="m", retryAfterMs=5)
