"""The command-line client: one WebSocket, a line-oriented UI (or raw JSON frames), reconnects.

It keeps, per user and server, a device id and the last seq it holds of each conversation, so a
restart `sync`s only what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

Frame = dict[str, Any]

HELP = """\
commands:
  <text>                 send to the open conversation
  /to USER               open the direct chat with USER
  /open ID|#NAME         open a conversation (see /who)
  /who                   list conversations
  /group NAME USER...    create a group with these members
  /add USER... | /remove USER... | /leave     manage the open group
  /history [N]           N older messages of the open conversation
  /info [SEQ]            who received and read a message (default: the last)
  /presence USER...      follow who is online
  /quit                  leave (Ctrl-D too)"""


class Refused(Exception):
    """The server refused the handshake (bad token or device id)."""


class Unreachable(Exception):
    """No server answered at the URL."""


@dataclass
class Options:
    url: str
    user: str
    device: str | None = None
    token: str | None = None
    to: str | None = None
    json: bool = False


@dataclass
class Conversation:
    conversation_id: str
    kind: str = "direct"
    name: str | None = None
    members: list[str] = field(default_factory=list)
    last_seq: int = 0


class State:
    """Device id and cursors, kept in ~/.config/chat-cli/<user>@<server>.json."""

    def __init__(self, user: str, url: str) -> None:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "chat-cli"
        server = urllib.parse.urlsplit(url).netloc or "server"
        self.path = base / re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{user}@{server}.json")
        data: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text())
        host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:24] or "host"
        self.device_id: str = data.get("deviceId") or f"cli-{host}-{uuid.uuid4().hex[:6]}"
        self.cursors: dict[str, int] = {k: int(v) for k, v in data.get("cursors", {}).items()}

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"deviceId": self.device_id, "cursors": self.cursors}))
            tmp.replace(self.path)


def http_base(ws_url: str) -> str:
    parts = urllib.parse.urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def local_token(ws_url: str, user: str) -> str:
    """A token from the local stack's /dev/token (there is none in AWS: pass --token there)."""
    url = f"{http_base(ws_url)}/dev/token?{urllib.parse.urlencode({'userId': user})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(json.loads(response.read())["token"])
    except urllib.error.HTTPError as exc:
        raise Refused(f"{url} answered {exc.code}: only the local stack issues tokens; pass --token") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"cannot reach {http_base(ws_url)} ({exc}); is `make dev` running?") from None


class ChatClient:
    def __init__(self, options: Options, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.options = options
        self.out = out
        self.err = err
        self.state = State(options.user or "token", options.url)
        self.device_id = options.device or self.state.device_id
        self.token = options.token
        self.conversations: dict[str, Conversation] = {}
        self.direct: dict[str, str] = {}  # other user -> direct conversation id
        self.current: str | None = None  # conversation id
        self.current_user: str | None = options.to  # a direct chat not created yet
        self.pending: dict[str, Frame] = {}  # clientMsgId -> send frame without its `sent`
        self.replies: dict[str, asyncio.Event] = {}  # requestId -> set when its reply arrives
        self.shown_receipts: dict[tuple[str, str, str], int] = {}
        self.oldest_shown: dict[str, int] = {}  # conversation -> oldest seq /history printed
        self.syncing = False
        self.synced = asyncio.Event()
        self.sync_buffer: list[Frame] = []
        self.jumps_allowed: set[str] = set()  # conversations whose next message may skip seqs
        self.unacked: dict[str, int] = {}  # conversation -> highest seq received during a sync
        self.ws: ClientConnection | None = None
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.last_frame_at = time.monotonic()
        color = out.isatty() and not os.environ.get("NO_COLOR")
        self.blue, self.dim, self.red, self.reset = (
            ("\033[34m", "\033[2m", "\033[31m", "\033[0m") if color else ("", "", "", "")
        )

    # ------------------------------------------------------------------ connection

    async def run(self) -> int:
        self._start_stdin()
        connected_before = False
        retried_token = False
        backoff = 0.5
        while True:
            try:
                self.ws = await self._connect()
            except Refused:
                if self.options.token or retried_token or not connected_before:
                    raise
                retried_token, self.token = True, None  # a fresh local token, once
                continue
            except Unreachable as exc:
                if not connected_before:
                    raise
                self._note(f"{exc}; retrying in {backoff:.0f} s")
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 30)
                continue
            connected_before, retried_token, backoff = True, False, 0.5
            self.state.save()  # keeps the device id
            outcome = await self._session(self.ws)
            if outcome != "dropped":
                return 0
            self._note(f"connection lost; reconnecting in {backoff:.0f} s")
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 30)

    async def _connect(self) -> ClientConnection:
        if self.token is None:
            self.token = await asyncio.to_thread(local_token, self.options.url, self.options.user)
        query = urllib.parse.urlencode({"token": self.token, "deviceId": self.device_id})
        separator = "&" if "?" in self.options.url else "?"
        try:
            return await connect(f"{self.options.url}{separator}{query}", open_timeout=15, max_size=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            why = {401: "bad or expired token, or bad device id", 403: "not allowed"}.get(status, "refused")
            raise Refused(f"the server refused the connection: HTTP {status} ({why})") from None
        except InvalidURI as exc:
            raise Refused(f"bad URL: {exc}") from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise Unreachable(f"cannot connect to {self.options.url}: {exc}") from None

    async def _session(self, ws: ClientConnection) -> str:
        if not self.options.json:
            self._note(f"connected as {self.options.user or 'token user'} (device {self.device_id}); /help for help")
            await self._sync()
            for frame in list(self.pending.values()):  # idempotent: same clientMsgId, same seq
                await self._send(frame)
        reader = asyncio.create_task(self._read(ws))
        if not self.options.json and not self.synced.is_set():
            # Commands like /who and /history need the conversations the first sync brings.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.synced.wait()), timeout=15)
        typing = asyncio.create_task(self._input())
        done, _ = await asyncio.wait({reader, typing}, return_when=asyncio.FIRST_COMPLETED)
        if typing in done:
            outcome = typing.result()
            if outcome == "eof":  # piped input: wait for the answers before leaving
                await self._linger()
            reader.cancel()
            await ws.close()
            return outcome
        typing.cancel()
        return "dropped"

    async def _linger(self, quiet_s: float = 1.0, max_s: float = 10.0) -> None:
        """After stdin ends: wait for the replies, until the socket goes quiet."""
        started = time.monotonic()
        self.last_frame_at = max(self.last_frame_at, started)
        while time.monotonic() - started < max_s and (
            self.pending or self.syncing or time.monotonic() - self.last_frame_at < quiet_s
        ):
            await asyncio.sleep(0.05)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                self.last_frame_at = time.monotonic()
                try:
                    frame = json.loads(message)
                except ValueError:
                    frame = {"raw": message}
                if self.options.json:
                    self._print(json.dumps(frame, ensure_ascii=False))
                else:
                    await self._on_frame(frame)

    async def _send(self, frame: Frame) -> None:
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(json.dumps(frame))

    # ------------------------------------------------------------------ input

    def _start_stdin(self) -> None:
        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self.lines.put_nowait, None)

        threading.Thread(target=pump, name="stdin", daemon=True).start()

    async def _input(self) -> str:
        while True:
            line = await self.lines.get()
            if line is None:
                return "eof"
            if self.options.json:
                if line.strip() and self.ws is not None:
                    with contextlib.suppress(ConnectionClosed):
                        await self.ws.send(line.strip())
                continue
            if await self._command(line.strip()) == "quit":
                return "quit"

    async def _command(self, line: str) -> str | None:
        if not line:
            return None
        if not line.startswith("/"):
            await self._send_text(line)
            return None
        command, *args = line.split()
        if command in ("/quit", "/exit"):
            return "quit"
        if command == "/help":
            self._print(HELP)
        elif command == "/to" and len(args) == 1:
            self.current_user = args[0]
            self.current = self.direct.get(args[0])
            self._note(f"chatting with {args[0]}")
        elif command == "/open" and len(args) == 1:
            self._open(args[0])
        elif command == "/who":
            for conversation in self.conversations.values():
                mark = "*" if conversation.conversation_id == self.current else " "
                self._print(f"{mark} {self._label(conversation.conversation_id)}  {conversation.conversation_id}")
        elif command == "/group" and len(args) >= 2:
            await self._request({"action": "createGroup", "name": args[0], "members": args[1:]})
        elif command in ("/add", "/remove") and args and self.current:
            action = "addMembers" if command == "/add" else "removeMembers"
            await self._request({"action": action, "conversationId": self.current, "userIds": args})
        elif command == "/leave" and self.current:
            await self._request({"action": "leaveGroup", "conversationId": self.current})
        elif command == "/history" and self.current:
            limit = int(args[0]) if args and args[0].isdigit() else 20
            oldest = self.oldest_shown.get(self.current)
            before = {"beforeSeq": oldest} if oldest else {}
            await self._request({"action": "history", "conversationId": self.current, "limit": limit, **before})
        elif command == "/info" and self.current:
            known = self.conversations.get(self.current)
            last = max(self.state.cursors.get(self.current, 0), known.last_seq if known else 0)
            seq = int(args[0]) if args and args[0].isdigit() else last
            await self._request({"action": "receipts", "conversationId": self.current, "seq": seq})
        elif command == "/presence" and args:
            await self._request({"action": "subscribePresence", "userIds": args}, wait=False)
        else:
            self._note("unknown command or missing argument (or no open conversation); /help")
        return None

    def _open(self, wanted: str) -> None:
        for conversation in reversed(self.conversations.values()):  # the newest first
            name = f"#{conversation.name}" if conversation.name else None
            if wanted in (conversation.conversation_id, name) or conversation.conversation_id.startswith(wanted):
                self.current, self.current_user = conversation.conversation_id, None
                self._note(f"open: {self._label(conversation.conversation_id)}")
                return
        self._note(f"no conversation {wanted!r}; /who lists them")

    async def _send_text(self, text: str) -> None:
        target: Frame
        if self.current:
            target = {"conversationId": self.current}
        elif self.current_user:
            target = {"to": self.current_user}
        else:
            self._note("open a conversation first: /to USER or /open ID")
            return
        frame = {"action": "send", **target, "clientMsgId": uuid.uuid4().hex[:16], "body": {"text": text}}
        self.pending[frame["clientMsgId"]] = frame
        await self._send(frame)

    async def _request(self, frame: Frame, wait: bool = True) -> None:
        """Sends a frame; with `wait`, returns once its direct reply is in, so the next line sees its effect."""
        request_id = uuid.uuid4().hex[:12]
        replied = self.replies[request_id] = asyncio.Event()
        await self._send({**frame, "requestId": request_id})
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replied.wait(), timeout=10)
        self.replies.pop(request_id, None)

    async def _sync(self) -> None:
        self.syncing = True
        await self._send({"action": "sync", "cursors": dict(self.state.cursors)})

    # ------------------------------------------------------------------ server frames

    async def _on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is not None:
            await handler(frame)
        replied = self.replies.get(frame.get("requestId") or "")
        if replied is not None:
            replied.set()
        elif "message" in frame and "connectionId" in frame:
            self._error(f"server error ({frame['message']}); try again")

    async def _on_message(self, frame: Frame) -> None:
        if self.syncing:
            self.sync_buffer.append(frame)  # shown once `synced` has said what the conversations are
            return
        await self._show_message(frame)

    async def _show_message(self, frame: Frame) -> None:
        conversation_id, seq = frame["conversationId"], int(frame["seq"])
        held = self.state.cursors.get(conversation_id)
        if held is not None and seq <= held:
            return  # a duplicate: delivery is at-least-once
        if held is not None and seq > held + 1 and conversation_id not in self.jumps_allowed:
            await self._sync()  # a gap: sync fills it, this message included
            return
        self.jumps_allowed.discard(conversation_id)
        self.state.cursors[conversation_id] = seq
        self.state.save()
        conversation = self.conversations.setdefault(conversation_id, Conversation(conversation_id))
        conversation.last_seq = max(conversation.last_seq, seq)
        sender = frame["senderId"]
        if conversation.kind == "direct" and sender != self.options.user:
            self.direct.setdefault(sender, conversation_id)
            if sender not in conversation.members:
                conversation.members = sorted({*conversation.members, sender, self.options.user})
        mine = sender == self.options.user and frame.get("senderDeviceId") == self.device_id
        if mine and frame.get("clientMsgId") in self.pending:
            return  # its `sent` prints it, with its check mark
        who = "you" if sender == self.options.user else sender
        self._print(f"{self.dim}{_clock(frame['sentAt'])}{self.reset} [{self._label(conversation_id)}] "
                    f"{who}: {frame['body']['text']}")
        if sender != self.options.user:
            if self.syncing:  # acknowledged once per conversation when the sync is complete
                self.unacked[conversation_id] = seq
            else:
                await self._ack(conversation_id, seq)

    async def _ack(self, conversation_id: str, seq: int) -> None:
        kind = "read" if conversation_id == self.current else "delivered"
        await self._send({"action": kind, "conversationId": conversation_id, "seq": seq})

    async def _on_sent(self, frame: Frame) -> None:
        sent = self.pending.pop(frame["clientMsgId"], None)
        conversation_id = frame["conversationId"]
        if sent and "to" in sent:
            self.direct[sent["to"]] = conversation_id
            conversation = self.conversations.setdefault(conversation_id, Conversation(conversation_id))
            conversation.members = sorted({sent["to"], self.options.user})
            if self.current_user == sent["to"]:
                self.current = conversation_id
        seq = int(frame["seq"])
        if self.state.cursors.get(conversation_id, 0) == seq - 1:  # our own message is held too
            self.state.cursors[conversation_id] = seq
            self.state.save()
        conversation = self.conversations.setdefault(conversation_id, Conversation(conversation_id))
        conversation.last_seq = max(conversation.last_seq, seq)
        text = sent["body"]["text"] if sent else ""
        self._print(f"{self.dim}{_clock(frame['sentAt'])}{self.reset} [{self._label(conversation_id)}] you: {text}"
                    f"  ✓ #{frame['seq']}")

    async def _on_receipt(self, frame: Frame) -> None:
        user, kind, seq = frame["userId"], frame["kind"], int(frame["seq"])
        if user == self.options.user:
            return
        key = (frame["conversationId"], user, kind)
        if seq <= self.shown_receipts.get(key, 0):
            return
        self.shown_receipts[key] = seq
        who = "everyone" if user == "*" else user
        label = self._label(frame["conversationId"])
        if kind == "read":
            self._print(f"{self.blue}✓✓{self.reset} [{label}] {who} read up to #{seq}")
        else:
            self._print(f"✓✓ [{label}] {who} received up to #{seq}")

    async def _on_synced(self, frame: Frame) -> None:
        for item in frame.get("conversations", []):
            conversation = self.conversations.setdefault(item["conversationId"], Conversation(item["conversationId"]))
            conversation.kind = item.get("kind", "direct")
            conversation.name = item.get("name")
            conversation.members = list(item.get("members", []))
            conversation.last_seq = int(item.get("lastSeq", 0))
            if conversation.kind == "direct":
                for member in conversation.members:
                    if member != self.options.user:
                        self.direct[member] = conversation.conversation_id
            for receipt in item.get("receipts", []) or []:
                if isinstance(receipt, dict) and {"userId", "kind", "seq"} <= set(receipt):
                    key = (conversation.conversation_id, receipt["userId"], receipt["kind"])
                    self.shown_receipts[key] = max(self.shown_receipts.get(key, 0), int(receipt["seq"]))
            if item.get("firstSeqSent"):  # older ones are left to /history: not a gap
                self.jumps_allowed.add(conversation.conversation_id)
        if self.current_user and not self.current:
            self.current = self.direct.get(self.current_user)
        buffered, self.sync_buffer = self.sync_buffer, []
        for message in buffered:
            await self._show_message(message)
        if not frame.get("complete", True):
            await self._send({"action": "sync", "cursors": dict(self.state.cursors)})
            return
        self.syncing = False
        self.synced.set()
        for conversation_id, seq in self.unacked.items():
            await self._ack(conversation_id, seq)
        self.unacked.clear()
        self._note(f"{len(self.conversations)} conversation(s); /who lists them")

    async def _on_group(self, frame: Frame) -> None:
        conversation = self.conversations.setdefault(frame["conversationId"], Conversation(frame["conversationId"]))
        conversation.kind, conversation.name = "group", frame.get("name")
        conversation.members = list(frame.get("members", []))
        change = {"created": "created the group", "membersAdded": "added members", "membersRemoved": "removed members",
                  "left": "left"}.get(frame.get("change", ""), frame.get("change", ""))
        self._note(f"[#{conversation.name}] {frame.get('by')} {change}; members: {', '.join(conversation.members)}")
        if frame.get("change") == "created" and frame.get("by") == self.options.user:
            self.current, self.current_user = conversation.conversation_id, None

    async def _on_presence(self, frame: Frame) -> None:
        if frame.get("online"):
            self._note(f"{frame['userId']} is online")
        else:
            seen = frame.get("lastSeen")
            self._note(f"{frame['userId']} is offline" + (f", last seen {_clock(seen)}" if seen else ""))

    async def _on_typing(self, frame: Frame) -> None:
        if frame.get("state") == "start" and frame.get("userId") != self.options.user:
            self._note(f"[{self._label(frame['conversationId'])}] {frame['userId']} is typing…")

    async def _on_history(self, frame: Frame) -> None:
        messages = frame.get("messages", [])
        if messages:
            self.oldest_shown[frame["conversationId"]] = int(messages[0]["seq"])
        for message in messages:
            sender = "you" if message["senderId"] == self.options.user else message["senderId"]
            self._print(f"{self.dim}#{message['seq']} {_clock(message['sentAt'])}{self.reset} {sender}: "
                        f"{message['body']['text']}")
        if frame.get("hasMore"):
            self._note("older messages: /history again")

    async def _on_receipts(self, frame: Frame) -> None:
        self._note(f"message #{frame['seq']}:")
        for member in frame.get("members", []):
            read, delivered = member.get("readAt"), member.get("deliveredAt")
            mark = f"{self.blue}✓✓ read {_clock(read)}{self.reset}" if read else (
                f"✓✓ received {_clock(delivered)}" if delivered else "✓")
            self._print(f"  {member['userId']}: {mark}")

    async def _on_error(self, frame: Frame) -> None:
        if frame.get("clientMsgId"):
            self.pending.pop(frame["clientMsgId"], None)
        action = f" ({frame['action']})" if frame.get("action") else ""
        self._error(f"{frame.get('code')}: {frame.get('message')}{action}")

    async def _on_pong(self, frame: Frame) -> None:
        return None

    # ------------------------------------------------------------------ output

    def _label(self, conversation_id: str) -> str:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return conversation_id[:10]
        if conversation.kind == "group":
            return f"#{conversation.name}"
        others = [m for m in conversation.members if m != self.options.user]
        return others[0] if others else conversation_id[:10]

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _note(self, text: str) -> None:
        print(f"{self.dim}-- {text}{self.reset}", file=self.err, flush=True)

    def _error(self, text: str) -> None:
        print(f"{self.red}error: {text}{self.reset}", file=self.err, flush=True)


def _clock(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M")
    except (ValueError, AttributeError):
        return "--:--"
