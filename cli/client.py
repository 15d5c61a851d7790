"""The command-line client: one WebSocket, a line-oriented UI (or raw JSON frames), reconnects.

It keeps, per user and server, a device id and the last seq it holds of each conversation
(`cli/state.py`), so a restart `sync`s only what it missed. The socket and reconnecting are in
`cli/connection.py`, what a typed line means in `cli/commands.py`, and how things look on screen in
`cli/render.py`; here is what the client knows of the conversations and how it follows the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from cli.commands import (
    HELP,
    IN_OPEN_CONVERSATION,
    Block,
    ChangeMembers,
    Command,
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
    parse,
)
from cli.connection import Connector, keep_connected
from cli.render import Screen, clock
from cli.state import State
from cli.uploads import MAX_BYTES, content_type, size_text, upload

# The protocol asks for a ping at least every 5 minutes (the web client's interval too).
PING_EVERY_S = 4 * 60

Frame = dict[str, Any]


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
    unread: int = 0  # as the last `synced` said
    muted: bool = False


class ChatClient:
    def __init__(self, options: Options, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.options = options
        self.screen = Screen(out, err)
        self.state = State(options.user or "token", options.url)
        self.device_id = options.device or self.state.device_id
        self.connector = Connector(options.url, options.user, self.device_id, options.token)
        self.conversations: dict[str, Conversation] = {}
        self.direct: dict[str, str] = {}  # other user -> direct conversation id
        self.current: str | None = None  # conversation id
        self.current_user: str | None = options.to  # a direct chat not created yet
        self.pending: dict[str, Frame] = {}  # clientMsgId -> send frame without its `sent`
        self.waiting: set[asyncio.Task[None]] = set()  # sends held back by `rate_limited`
        self.replies: dict[str, asyncio.Event] = {}  # requestId -> set when its reply arrives
        self.answers: dict[str, Frame] = {}  # requestId -> its reply, for the requests that read it
        self.shown_receipts: dict[tuple[str, str, str], int] = {}
        self.oldest_shown: dict[str, int] = {}  # conversation -> oldest seq /history printed
        self.syncing = False
        self.synced = asyncio.Event()
        # The last `synced`'s syncToken: a reconnect lists only what changed. Not kept between runs, as
        # the conversations it leaves out are not: each run's first sync lists them all.
        self.sync_token = ""
        self.sync_buffer: list[Frame] = []
        self.jumps_allowed: set[str] = set()  # conversations whose next message may skip seqs
        self.unacked: dict[str, int] = {}  # conversation -> highest seq received during a sync
        self.ws: ClientConnection | None = None
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.last_frame_at = time.monotonic()

    # ------------------------------------------------------------------ connection

    async def run(self) -> int:
        self._start_stdin()
        return await keep_connected(self.connector, self._session, self.screen.note)

    async def _session(self, ws: ClientConnection) -> str:
        self.ws = ws
        self.state.save()  # keeps the device id
        if not self.options.json:
            self.screen.note(
                f"connected as {self.options.user or 'token user'} (device {self.device_id}); /help for help"
            )
            await self._sync()
            for frame in list(self.pending.values()):  # idempotent: same clientMsgId, same seq
                await self._send(frame)
        reader = asyncio.create_task(self._read(ws))
        keep_alive = asyncio.create_task(self._keep_alive())
        reader.add_done_callback(lambda _: keep_alive.cancel())
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

    async def _keep_alive(self) -> None:
        """`ping` every PING_EVERY_S: API Gateway closes a socket idle for 10 minutes, and the server
        counts a connection as gone once its lease (renewed by ping) ends."""
        while True:
            await asyncio.sleep(PING_EVERY_S)
            await self._send({"action": "ping"})

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
                    self.screen.print(json.dumps(frame, ensure_ascii=False))
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
            command = parse(line.strip())
            if isinstance(command, Quit):
                return "quit"
            if command is not None:
                await self._command(command)

    async def _command(self, command: Command) -> None:
        if isinstance(command, IN_OPEN_CONVERSATION) and not self.current:
            command = Unknown()
        match command:
            case Say(text):
                await self._send_text(text)
            case Help():
                self.screen.print(HELP)
            case To(user):
                self.current_user = user
                self.current = self.direct.get(user)
                self.screen.note(f"chatting with {user}")
            case Open(wanted):
                self._open(wanted)
            case Who():
                for conversation in self.conversations.values():
                    mark = "*" if conversation.conversation_id == self.current else " "
                    unread = f"  ({conversation.unread} unread)" if conversation.unread else ""
                    muted = "  [muted]" if conversation.muted else ""
                    self.screen.print(
                        f"{mark} {self._label(conversation.conversation_id)}  {conversation.conversation_id}"
                        f"{unread}{muted}"
                    )
            case CreateGroup(name, members):
                await self._request({"action": "createGroup", "name": name, "members": list(members)})
            case ChangeMembers(add, users):
                action = "addMembers" if add else "removeMembers"
                await self._request({"action": action, "conversationId": self.current, "userIds": list(users)})
            case Leave():
                await self._request({"action": "leaveGroup", "conversationId": self.current})
            case History(limit):
                assert self.current is not None
                oldest = self.oldest_shown.get(self.current)
                before = {"beforeSeq": oldest} if oldest else {}
                await self._request({"action": "history", "conversationId": self.current, "limit": limit, **before})
            case Info(seq):
                assert self.current is not None
                known = self.conversations.get(self.current)
                last = max(self.state.cursors.get(self.current, 0), known.last_seq if known else 0)
                await self._request(
                    {"action": "receipts", "conversationId": self.current, "seq": last if seq is None else seq}
                )
            case Reply(seq, text):
                await self._send_text(text, reply_to=seq)
            case Edit(seq, text):
                body = {"text": text}
                await self._request({"action": "edit", "conversationId": self.current, "seq": seq, "body": body})
            case Delete(seq):
                await self._request({"action": "delete", "conversationId": self.current, "seq": seq})
            case React(seq, emoji):
                await self._request({"action": "react", "conversationId": self.current, "seq": seq, "emoji": emoji})
            case Mute(until):
                when = {} if until is None else {"until": until}
                await self._request({"action": "mute", "conversationId": self.current, **when})
            case Unmute():
                await self._request({"action": "unmute", "conversationId": self.current})
            case Block(user, blocked):
                await self._request({"action": "block" if blocked else "unblock", "userId": user})
            case SendFile(path):
                await self._send_file(Path(path).expanduser())
            case FollowPresence(users):
                await self._request({"action": "subscribePresence", "userIds": list(users)}, wait=False)
            case _:
                self.screen.note("unknown command or missing argument (or no open conversation); /help")

    def _open(self, wanted: str) -> None:
        for conversation in reversed(self.conversations.values()):  # the newest first
            name = f"#{conversation.name}" if conversation.name else None
            if wanted in (conversation.conversation_id, name) or conversation.conversation_id.startswith(wanted):
                self.current, self.current_user = conversation.conversation_id, None
                self.screen.note(f"open: {self._label(conversation.conversation_id)}")
                return
        self.screen.note(f"no conversation {wanted!r}; /who lists them")

    async def _send_text(self, text: str, reply_to: int | None = None) -> None:
        target: Frame
        if self.current:
            target = {"conversationId": self.current}
        elif self.current_user:
            target = {"to": self.current_user}
        else:
            self.screen.note("open a conversation first: /to USER or /open ID")
            return
        frame = {"action": "send", **target, "clientMsgId": uuid.uuid4().hex[:16], "body": {"text": text}}
        if reply_to is not None:
            frame["replyTo"] = reply_to
        self.pending[frame["clientMsgId"]] = frame
        await self._send(frame)

    async def _send_file(self, path: Path) -> None:
        """/send-file: requestUpload, the upload through the presigned POST, then `send` with the attachment."""
        file_type = content_type(path)
        if file_type is None:
            self.screen.error(f"{path.name}: not a type that can be sent (photos, PDF, text, audio, video, zip)")
            return
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            self.screen.error(f"{path}: {exc.strerror or exc}")
            return
        if not 0 < len(data) <= MAX_BYTES:
            self.screen.error(f"{path.name}: {size_text(len(data))}; files of 1 byte to 16 MB can be sent")
            return
        conversation_id = self.current
        ask = {"action": "requestUpload", "conversationId": conversation_id, "contentType": file_type}
        ready = await self._request({**ask, "size": len(data), "name": path.name})
        if ready is None or ready.get("type") != "uploadReady":
            return  # an `error` is shown as it comes
        try:
            await asyncio.to_thread(upload, ready, path.name, data, file_type)
        except OSError as exc:
            self.screen.error(f"{path.name}: {exc}")
            return
        self.screen.note(f"uploaded {path.name} ({size_text(len(data))})")
        attachment = {"attachmentId": ready["attachmentId"], "contentType": file_type, "size": len(data)}
        client_msg_id = uuid.uuid4().hex[:16]
        frame: Frame = {
            "action": "send",
            "conversationId": conversation_id,
            "clientMsgId": client_msg_id,
            "body": {"text": ""},
            "attachment": {**attachment, "name": path.name},
        }
        self.pending[client_msg_id] = frame
        await self._send(frame)

    async def _request(self, frame: Frame, wait: bool = True) -> Frame | None:
        """Sends a frame; with `wait`, returns once its direct reply is in (and returns it), so the next line
        sees its effect."""
        request_id = uuid.uuid4().hex[:12]
        replied = self.replies[request_id] = asyncio.Event()
        await self._send({**frame, "requestId": request_id})
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replied.wait(), timeout=10)
        self.replies.pop(request_id, None)
        return self.answers.pop(request_id, None)

    async def _sync(self) -> None:
        self.syncing = True
        await self._send(
            {
                "action": "sync",
                "cursors": dict(self.state.cursors),
                "changeCursors": dict(self.state.change_cursors),
                "since": self.sync_token,
            }
        )

    # ------------------------------------------------------------------ server frames

    async def _on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is not None:
            await handler(frame)
        replied = self.replies.get(frame.get("requestId") or "")
        if replied is not None:
            self.answers[frame["requestId"]] = frame
            replied.set()
        elif "message" in frame and "connectionId" in frame:
            self.screen.error(f"server error ({frame['message']}); try again")

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
        self.screen.message(frame["sentAt"], self._label(conversation_id), who, as_shown(frame))
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
        text = as_shown(sent) if sent else ""
        self.screen.sent(frame["sentAt"], self._label(conversation_id), text, frame["seq"])

    async def _on_receipt(self, frame: Frame) -> None:
        user, kind, seq = frame["userId"], frame["kind"], int(frame["seq"])
        if user == self.options.user:
            return
        key = (frame["conversationId"], user, kind)
        if seq <= self.shown_receipts.get(key, 0):
            return
        self.shown_receipts[key] = seq
        who = "everyone" if user == "*" else user
        self.screen.receipt(self._label(frame["conversationId"]), who, kind, seq)

    async def _on_muted(self, frame: Frame) -> None:
        conversation = self.conversations.setdefault(frame["conversationId"], Conversation(frame["conversationId"]))
        conversation.muted = bool(frame.get("muted"))
        if not conversation.muted:
            state = "unmuted"
        else:
            state = f"muted until {frame['until']}" if frame.get("until") else "muted until /unmute"
        self.screen.note(f"{self._label(conversation.conversation_id)}: {state}")

    async def _on_blocked(self, frame: Frame) -> None:
        self.screen.note(f"{frame['userId']}: {'blocked' if frame.get('blocked') else 'unblocked'}")

    async def _on_synced(self, frame: Frame) -> None:
        self.sync_token = frame.get("syncToken", self.sync_token)
        for item in frame.get("conversations", []):
            conversation = self.conversations.setdefault(item["conversationId"], Conversation(item["conversationId"]))
            conversation.kind = item.get("kind", "direct")
            conversation.name = item.get("name")
            # Left out for a group one is no longer in: keep the members as last known.
            conversation.members = list(item.get("members", conversation.members))
            conversation.last_seq = int(item.get("lastSeq", 0))
            conversation.unread = int(item.get("unread", 0))
            conversation.muted = bool(item.get("muted", False))
            # Edits, deletions and reactions after it come with the next sync (`changeCursors`).
            self.state.change_cursors[conversation.conversation_id] = int(item.get("lastChange", 0))
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
        self.state.save()
        if self.current_user and not self.current:
            self.current = self.direct.get(self.current_user)
        buffered, self.sync_buffer = self.sync_buffer, []
        for buffered_frame in buffered:
            if buffered_frame.get("type") == "messageChanged":
                self._show_change(buffered_frame)
            else:
                await self._show_message(buffered_frame)
        if not frame.get("complete", True):
            await self._sync()
            return
        self.syncing = False
        self.synced.set()
        for conversation_id, seq in self.unacked.items():
            await self._ack(conversation_id, seq)
        self.unacked.clear()
        self.screen.note(f"{len(self.conversations)} conversation(s); /who lists them")

    async def _on_group(self, frame: Frame) -> None:
        conversation = self.conversations.setdefault(frame["conversationId"], Conversation(frame["conversationId"]))
        conversation.kind, conversation.name = "group", frame.get("name")
        conversation.members = list(frame.get("members", []))
        change = {
            "created": "created the group",
            "membersAdded": "added members",
            "membersRemoved": "removed members",
            "left": "left",
        }.get(frame.get("change", ""), frame.get("change", ""))
        self.screen.note(
            f"[#{conversation.name}] {frame.get('by')} {change}; members: {', '.join(conversation.members)}"
        )
        if frame.get("change") == "created" and frame.get("by") == self.options.user:
            self.current, self.current_user = conversation.conversation_id, None

    async def _on_presence(self, frame: Frame) -> None:
        if frame.get("online"):
            self.screen.note(f"{frame['userId']} is online")
        else:
            seen = frame.get("lastSeen")
            self.screen.note(f"{frame['userId']} is offline" + (f", last seen {clock(seen)}" if seen else ""))

    async def _on_typing(self, frame: Frame) -> None:
        if frame.get("state") == "start" and frame.get("userId") != self.options.user:
            self.screen.note(f"[{self._label(frame['conversationId'])}] {frame['userId']} is typing…")

    async def _on_history(self, frame: Frame) -> None:
        messages = frame.get("messages", [])
        if messages:
            self.oldest_shown[frame["conversationId"]] = int(messages[0]["seq"])
        for message in messages:
            sender = "you" if message["senderId"] == self.options.user else message["senderId"]
            self.screen.history_message(message["seq"], message["sentAt"], sender, as_shown(message))
        if frame.get("hasMore"):
            self.screen.note("older messages: /history again")

    async def _on_messageChanged(self, frame: Frame) -> None:  # named after the frame's type
        if self.syncing:
            self.sync_buffer.append(frame)  # shown once `synced` has said what the conversations are
            return
        self._show_change(frame)

    def _show_change(self, frame: Frame) -> None:
        message = frame.get("message") or {}
        who = "you" if frame.get("by") == self.options.user else frame.get("by")
        if frame.get("kind") == "deleted":
            what = f"deleted by {who}"
        elif frame.get("kind") == "edited":
            what = f"edited by {who}: {as_shown(message)}"
        else:
            reactions = message.get("reactions") or {}
            shown = ", ".join(f"{emoji} {user}" for user, emoji in sorted(reactions.items())) or "none"
            what = f"reactions: {shown}"
        self.screen.changed(self._label(frame["conversationId"]), message.get("seq"), what)

    async def _on_receipts(self, frame: Frame) -> None:
        self.screen.note(f"message #{frame['seq']}:")
        for member in frame.get("members", []):
            self.screen.member_receipt(member["userId"], member.get("readAt"), member.get("deliveredAt"))

    async def _on_error(self, frame: Frame) -> None:
        client_msg_id = frame.get("clientMsgId")
        if frame.get("code") == "rate_limited" and client_msg_id in self.pending:
            # Not a refusal: the server takes the same frame (same clientMsgId) after retryAfterMs.
            delay_s = max(1, int(frame.get("retryAfterMs") or 1000)) / 1000
            self.screen.note(f"too many messages at once; sending again in {delay_s:g} s")
            task = asyncio.create_task(self._send_later(client_msg_id, delay_s))
            self.waiting.add(task)
            task.add_done_callback(self.waiting.discard)
            return
        if frame.get("action") == "sync" and frame.get("code") == "bad_request" and self.sync_token:
            self.sync_token = ""  # a token the server does not take: every conversation again
            await self._sync()
            return
        if client_msg_id:
            self.pending.pop(client_msg_id, None)
        action = f" ({frame['action']})" if frame.get("action") else ""
        self.screen.error(f"{frame.get('code')}: {frame.get('message')}{action}")

    async def _send_later(self, client_msg_id: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        frame = self.pending.get(client_msg_id)
        if frame is not None:  # else `sent` came meanwhile (a reconnect sends every pending frame)
            await self._send(frame)

    def _label(self, conversation_id: str) -> str:
        """How a conversation is named on screen: #group, the other user, or the start of its id."""
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return conversation_id[:10]
        if conversation.kind == "group":
            return f"#{conversation.name}"
        others = [m for m in conversation.members if m != self.options.user]
        return others[0] if others else conversation_id[:10]


def as_shown(message: Frame) -> str:
    """A message's text as the screen shows it: the quote it answers, deleted, edited."""
    if message.get("deleted"):
        return "(this message was deleted)"
    text = str((message.get("body") or {}).get("text", ""))
    if message.get("editedAt"):
        text += " (edited)"
    if message.get("replyTo"):
        text = f"↪ #{message['replyTo']} {text}"
    attachment = message.get("attachment")
    if isinstance(attachment, dict):
        # One line per attachment: what it is, and where to download it (the link works for an hour).
        name = attachment.get("name") or attachment.get("attachmentId", "file")
        kind, size = attachment.get("contentType", "?"), size_text(int(attachment.get("size") or 0))
        line = f"[file] {name} ({kind}, {size}) {attachment.get('url', '')}".rstrip()
        text = f"{text}\n    {line}" if text else line
    return text
