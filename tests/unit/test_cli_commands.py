"""The command-line client's commands: what each typed line means, and the frame it sends."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cli import client as cli_client
from cli import commands
from cli.client import ChatClient, Conversation, Options
from cli.commands import (
    Block,
    ChangeMembers,
    CreateGroup,
    Delete,
    Edit,
    FollowPresence,
    Help,
    History,
    Info,
    Leave,
    Mute,
    Open,
    Quit,
    React,
    Reply,
    Say,
    SendFile,
    To,
    Unknown,
    Unmute,
    Who,
)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("", None),
        ("hello there", Say("hello there")),
        ("/quit", Quit()),
        ("/exit now", Quit()),
        ("/help", Help()),
        ("/to bob", To("bob")),
        ("/to", Unknown()),
        ("/to bob carol", Unknown()),
        ("/open #club", Open("#club")),
        ("/open", Unknown()),
        ("/who", Who()),
        ("/group club bob carol", CreateGroup("club", ("bob", "carol"))),
        ("/group club", Unknown()),
        ("/add bob carol", ChangeMembers(add=True, users=("bob", "carol"))),
        ("/remove bob", ChangeMembers(add=False, users=("bob",))),
        ("/add", Unknown()),
        ("/leave", Leave()),
        ("/history", History(20)),
        ("/history 5", History(5)),
        ("/history many", History(20)),
        ("/info", Info(None)),
        ("/info 7", Info(7)),
        ("/presence bob carol", FollowPresence(("bob", "carol"))),
        ("/presence", Unknown()),
        ("/fly", Unknown()),
        ("/reply 3 sure,  see you", Reply(3, "sure,  see you")),
        ("/reply 3", Unknown()),
        ("/reply x hi", Unknown()),
        ("/edit 2 fixed text", Edit(2, "fixed text")),
        ("/edit 0 fixed", Unknown()),
        ("/delete 4", Delete(4)),
        ("/delete", Unknown()),
        ("/delete 4 5", Unknown()),
        ("/react 1 \U0001f44d", React(1, "\U0001f44d")),
        ("/react 1", React(1, "")),
        ("/react 1 a b", Unknown()),
        ("/mute", Mute(None)),
        ("/mute 2026-12-01T08:00:00Z", Mute("2026-12-01T08:00:00Z")),
        ("/mute tomorrow morning", Unknown()),
        ("/unmute", Unmute()),
        ("/unmute now", Unknown()),
        ("/block bob", Block("bob", blocked=True)),
        ("/unblock bob", Block("bob", blocked=False)),
        ("/block", Unknown()),
        ("/block bob carol", Unknown()),
    ],
)
def test_each_line_means_one_command(line: str, command: commands.Command | None) -> None:
    assert commands.parse(line) == command


class FakeSocket:
    """Records the frames the client sends, and answers each request at once (an empty reply)."""

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self.frames: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        frame = json.loads(text)
        self.frames.append(frame)
        replied = self.client.replies.get(frame.get("requestId", ""))
        if replied is not None:
            replied.set()


def typed(lines: list[str], current: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The frames alice's client sends and the notes it prints for these lines, with `current` open."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    err = io.StringIO()

    async def run() -> list[dict[str, Any]]:
        client = ChatClient(Options(url="ws://127.0.0.1:1/ws", user="alice"), out=io.StringIO(), err=err)
        client.current = current
        client.conversations["c1"] = Conversation("c1", "group", "club", ["alice", "bob"], last_seq=4)
        socket = FakeSocket(client)
        client.ws = socket  # type: ignore[assignment]
        for line in lines:
            command = commands.parse(line)
            assert command is not None
            await client._command(command)
        return socket.frames

    frames = asyncio.run(run())
    for frame in frames:
        frame.pop("requestId", None)
        frame.pop("clientMsgId", None)
    return frames, err.getvalue().splitlines()


def test_commands_about_the_open_conversation_need_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["/add bob", "/leave", "/history", "/info", "/reply 1 hi", "/edit 1 x", "/delete 1", "/react 1"]
    lines += ["/mute", "/unmute", "hi"]
    frames, notes = typed(lines, None, tmp_path, monkeypatch)
    assert frames == []
    unknown = "-- unknown command or missing argument (or no open conversation); /help"
    assert notes == [unknown] * 10 + ["-- open a conversation first: /to USER or /open ID"]


def test_commands_send_their_frames_in_the_open_conversation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["hi", "/add dan", "/remove bob", "/history 5", "/info", "/info 2", "/leave", "/presence bob"]
    lines += ["/reply 2 yes", "/edit 4 fixed", "/delete 4", "/react 2 \U0001f44d", "/react 2"]
    lines += ["/mute", "/mute 2099-01-01T00:00:00Z", "/unmute", "/block bob", "/unblock bob"]
    frames, notes = typed([*lines, "/group pals bob carol"], "c1", tmp_path, monkeypatch)
    assert notes == []
    assert frames == [
        {"action": "send", "conversationId": "c1", "body": {"text": "hi"}},
        {"action": "addMembers", "conversationId": "c1", "userIds": ["dan"]},
        {"action": "removeMembers", "conversationId": "c1", "userIds": ["bob"]},
        {"action": "history", "conversationId": "c1", "limit": 5},
        {"action": "receipts", "conversationId": "c1", "seq": 4},  # the last one known
        {"action": "receipts", "conversationId": "c1", "seq": 2},
        {"action": "leaveGroup", "conversationId": "c1"},
        {"action": "subscribePresence", "userIds": ["bob"]},
        {"action": "send", "conversationId": "c1", "body": {"text": "yes"}, "replyTo": 2},
        {"action": "edit", "conversationId": "c1", "seq": 4, "body": {"text": "fixed"}},
        {"action": "delete", "conversationId": "c1", "seq": 4},
        {"action": "react", "conversationId": "c1", "seq": 2, "emoji": "\U0001f44d"},
        {"action": "react", "conversationId": "c1", "seq": 2, "emoji": ""},
        {"action": "mute", "conversationId": "c1"},
        {"action": "mute", "conversationId": "c1", "until": "2099-01-01T00:00:00Z"},
        {"action": "unmute", "conversationId": "c1"},
        {"action": "block", "userId": "bob"},
        {"action": "unblock", "userId": "bob"},
        {"action": "createGroup", "name": "pals", "members": ["bob", "carol"]},
    ]


def test_the_client_pings_to_keep_its_connection_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server closes a connection whose lease no ping renewed (chat/liveness.py)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(cli_client, "PING_EVERY_S", 0.01)

    async def run() -> list[dict[str, Any]]:
        client = ChatClient(Options(url="ws://127.0.0.1:1/ws", user="alice"), out=io.StringIO(), err=io.StringIO())
        socket = FakeSocket(client)
        client.ws = socket  # type: ignore[assignment]
        keep_alive = asyncio.create_task(client._keep_alive())
        while len(socket.frames) < 3:
            await asyncio.sleep(0.01)
        keep_alive.cancel()
        return socket.frames

    assert asyncio.run(asyncio.wait_for(run(), timeout=10))[:3] == [{"action": "ping"}] * 3


def test_send_file_is_a_command_about_the_open_conversation() -> None:
    assert commands.parse("/send-file ~/Pictures/the beach.png") == SendFile("~/Pictures/the beach.png")
    assert commands.parse("/send-file") == Unknown()
    assert SendFile in commands.IN_OPEN_CONVERSATION


def test_send_file_asks_for_an_upload_posts_the_file_and_sends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    photo = tmp_path / "beach.png"
    photo.write_bytes(b"\x89PNG" + b"x" * 96)
    posted: list[tuple[dict[str, Any], str, bytes, str]] = []
    monkeypatch.setattr(cli_client, "upload", lambda ready, name, data, kind: posted.append((ready, name, data, kind)))
    ready = {
        "type": "uploadReady",
        "attachmentId": "a" * 32,
        "url": "http://127.0.0.1:9/chat-attachments",
        "fields": {"key": "uploads/c1/" + "a" * 32, "policy": "p"},
        "expiresAt": "2026-12-01T00:15:00.000Z",
        "maxSize": 100,
    }
    err = io.StringIO()

    async def run() -> list[dict[str, Any]]:
        client = ChatClient(Options(url="ws://127.0.0.1:1/ws", user="alice"), out=io.StringIO(), err=err)
        client.current = "c1"
        frames: list[dict[str, Any]] = []

        class Answering(FakeSocket):
            async def send(self, text: str) -> None:
                frame = json.loads(text)
                frames.append(frame)
                if frame["action"] == "requestUpload":
                    await client._on_frame({**ready, "requestId": frame["requestId"]})

        client.ws = Answering(client)  # type: ignore[assignment]
        await client._command(SendFile(str(photo)))
        await client._command(SendFile(str(tmp_path / "virus.exe")))
        return frames

    frames = asyncio.run(run())
    for frame in frames:
        frame.pop("requestId", None)
        frame.pop("clientMsgId", None)
    assert frames == [
        {
            "action": "requestUpload",
            "conversationId": "c1",
            "contentType": "image/png",
            "size": 100,
            "name": "beach.png",
        },
        {
            "action": "send",
            "conversationId": "c1",
            "body": {"text": ""},
            "attachment": {"attachmentId": "a" * 32, "contentType": "image/png", "size": 100, "name": "beach.png"},
        },
    ]
    assert posted == [(ready | {"requestId": posted[0][0]["requestId"]}, "beach.png", photo.read_bytes(), "image/png")]
    assert "not a type that can be sent" in err.getvalue()


def test_a_received_attachment_shows_as_a_line_with_its_name_type_size_and_url() -> None:
    message = {
        "body": {"text": "look"},
        "attachment": {
            "attachmentId": "a" * 32,
            "contentType": "application/pdf",
            "size": 2048,
            "name": "notes.pdf",
            "url": "http://127.0.0.1:9/x?sig",
            "urlExpiresAt": "2026-12-01T01:00:00.000Z",
        },
    }
    assert (
        cli_client.as_shown(message) == "look\n    [file] notes.pdf (application/pdf, 2.0 KB) http://127.0.0.1:9/x?sig"
    )
    assert cli_client.as_shown({**message, "body": {"text": ""}}).startswith("[file] notes.pdf")
    assert cli_client.as_shown({"body": {"text": ""}, "deleted": True}) == "(this message was deleted)"


def test_the_upload_form_holds_every_field_then_the_file() -> None:
    from cli.uploads import multipart

    body, form_type = multipart({"key": "uploads/c1/x", "policy": "p"}, "a.txt", b"hello", "text/plain")
    boundary = form_type.split("boundary=")[1]
    assert body.index(b'name="key"') < body.index(b'name="policy"') < body.index(b'name="file"; filename="a.txt"')
    assert body.endswith(f"hello\r\n--{boundary}--\r\n".encode())
