"""Soak: devices exchange thousands of messages over a local stack with every fault on and their sockets
dropped at random; at the end nothing may be lost, doubled, out of place or unacknowledged.

    make soak                                                   # 10,000 messages among 54 devices
    .venv/bin/python scripts/soak.py --messages 300 --users 8 --devices 12 --groups 2   # a small run

It starts a local stack of its own (`local.process.LocalStackProcess`) with the faults of
chat/faults.py switched on (`--faults`, seeded by `--seed`), then runs every device in one asyncio
loop. Users have one or two devices; they talk in direct chats and groups, in bursts of one to five
messages, at most `--rate` messages a second in all. Each device, as a real client would:

- sends one message at a time and resends it with the same `clientMsgId` when no `sent` comes within
  `--send-timeout` s, when API Gateway's failed-integration frame or an `internal` error comes, or when
  its socket drops;
- drops its socket now and then without a close frame (`--drop-every` s on average) and reconnects,
  as does a device whose socket the stack cut; a new socket `sync`s from the device's cursors (the
  highest seq held without a gap, per conversation), and so does a device that sees a gap last;
- acks what arrived a few seconds after it arrives: its user's first device acks `read` (except in the
  conversations its user never opens, about one in seven, where it acks `delivered`), the other
  device `delivered`, unless a `receipt` told it the watermark is there already.

Then every device syncs, acks what it holds, confirms its acks through `sync`, waits for the check marks
to settle, and pages through `history`. What is stored is read from the stack's DynamoDB. One summary
line says, all of which must be 0 or yes (else exit status 1):

    acknowledged   sends answered with `sent`         stored      messages in the table
    lost           acknowledged, not stored at that seq (or acknowledged at two seqs)
    duplicated     extra copies of a clientMsgId       gaps        seqs missing in a conversation
    differing      devices whose messages (held after sync, or paged by history) differ from the store
    unanswered     sends never acknowledged            errors      error frames other than `internal`
    converged      every device's delivered/read check marks (and the stored watermarks) are what the
                   recipients acknowledged

plus the delivery latency (send -> the first `message` at a device of another member, p50 and p99)
and the duration. The run stops by itself after `--max-seconds` (failing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from chat.config import default_table_environment
from chat.topology import TABLES
from local.process import LocalStackProcess

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FAULTS = (
    "send.crash_after_store=0.02,fanout.crash=0.01,post.gone=0.002,post.throttle=0.02,"
    "stream.duplicate=0.02,disconnect.drop=0.1,ddb.throttle=0.005"
)
HISTORY_PAGE = 100
MUTED_SHARE = 0.15  # (user, conversation) pairs whose user never reads it
RETRY = "retry"  # what a request's future resolves to when it must be sent again
GAP_PATIENCE_S = 5.0  # how long a gap may last before the device syncs

Frame = dict[str, Any]
Record = tuple[str, str, str]  # (clientMsgId, senderId, text)


@dataclass
class Options:
    messages: int
    users: int
    devices: int
    groups: int
    faults: str
    seed: int
    drop_every_s: float
    send_timeout_s: float
    rate: float
    settle_s: float
    max_seconds: float
    log: Path


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--devices", type=int, default=54, help="users beyond --users get a second device")
    parser.add_argument("--groups", type=int, default=6, help="groups of 3 to 8 members, besides the direct chats")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help="CHAT_FAULTS for the stack")
    parser.add_argument("--seed", type=int, default=1, help="seeds the faults, the plan and the drops")
    parser.add_argument("--drop-every", dest="drop_every_s", type=float, default=120.0, help="mean s between drops")
    parser.add_argument("--send-timeout", dest="send_timeout_s", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=8.0, help="messages per second in all (0: as fast as served)")
    parser.add_argument("--settle", dest="settle_s", type=float, default=300.0, help="s for check marks to settle")
    parser.add_argument("--max-seconds", type=float, default=2100.0, help="fail if the run takes longer")
    parser.add_argument("--log", type=Path, default=ROOT / "test-artifacts" / "local-stack-soak.log")
    args = parser.parse_args(argv)
    if not 2 <= args.users <= args.devices <= 2 * args.users:
        parser.error("need 2 <= --users <= --devices <= 2 * --users")
    return Options(**vars(args))


# ---- the plan: who is in which conversation, who sends what ------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """Planned: a direct chat (two users, created by its first message) or a group."""

    key: str  # "direct:a:b" or "group:<n>"
    members: tuple[str, ...]

    @property
    def direct(self) -> bool:
        return self.key.startswith("direct:")


@dataclass
class Plan:
    users: list[str]
    devices: dict[str, list[str]]  # user -> device ids
    conversations: list[Conversation]
    # device (user, device id) -> bursts of (conversation key, count)
    bursts: dict[tuple[str, str], list[tuple[str, int]]]
    muted: set[tuple[str, str]]  # (user, conversation key) never read

    @classmethod
    def make(cls, options: Options, rng: random.Random) -> Plan:
        run = uuid.uuid4().hex[:6]
        users = [f"u{n:02d}-{run}" for n in range(options.users)]
        devices = {
            u: ["phone", "laptop"] if n < options.devices - options.users else ["phone"] for n, u in enumerate(users)
        }
        pairs: set[tuple[str, str]] = set()
        for n, user in enumerate(users):  # a ring, so everyone has someone, then a few more each
            pairs.add(tuple(sorted((user, users[(n + 1) % len(users)]))))  # type: ignore[arg-type]
        while len(pairs) < int(1.5 * len(users)):
            a, b = rng.sample(users, 2)
            pairs.add(tuple(sorted((a, b))))  # type: ignore[arg-type]
        conversations = [Conversation(f"direct:{a}:{b}", (a, b)) for a, b in sorted(pairs)]
        for g in range(options.groups):
            size = min(len(users), rng.randint(3, 8))
            conversations.append(Conversation(f"group:{g}", tuple(rng.sample(users, size))))
        bursts: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        planned = 0
        while planned < options.messages:
            conversation = rng.choice(conversations)
            user = rng.choice(conversation.members)
            device = rng.choice(devices[user])
            count = min(rng.randint(1, 5), options.messages - planned)
            bursts[(user, device)].append((conversation.key, count))
            planned += count
        muted = {(u, c.key) for c in conversations for u in c.members if rng.random() < MUTED_SHARE}
        return cls(users, devices, conversations, dict(bursts), muted)


# ---- what the run saw ----------------------------------------------------------------------------------


@dataclass
class Tally:
    started: float = field(default_factory=time.monotonic)
    planned: int = 0
    # (sender, clientMsgId) -> every (conversationId, seq) a `sent` answered with
    acked: dict[tuple[str, str], set[tuple[str, int]]] = field(default_factory=lambda: defaultdict(set))
    sent_at: dict[tuple[str, str], float] = field(default_factory=dict)  # first attempt
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)  # first `message` at another member
    resends: int = 0
    failed_integrations: int = 0
    internal_errors: int = 0
    errors: list[Frame] = field(default_factory=list)
    drops: int = 0  # sockets this script dropped
    cut: int = 0  # sockets that ended otherwise (the stack cut them: post.gone)
    connect_failures: int = 0
    syncs: int = 0
    gap_syncs: int = 0
    copies: int = 0  # `message` frames for a seq already held
    conflicts: int = 0  # a seq held with other content than a later copy
    # conversationId -> its planned conversation, learnt from `sent`, `message`, `synced`
    conversation_ids: dict[str, str] = field(default_factory=dict)


# ---- one device ----------------------------------------------------------------------------------------


class Device:
    def __init__(self, soak: Soak, user: str, device_id: str, token: str, rng: random.Random) -> None:
        self.soak = soak
        self.user = user
        self.device_id = device_id
        self.token = token
        self.rng = rng
        self.reader_device = soak.plan.devices[user][0] == device_id
        self.ws: ClientConnection | None = None
        self.online = asyncio.Event()
        self.closed = False
        self.dropping = False
        self.held: dict[str, dict[int, Record]] = defaultdict(dict)
        self.cursor: dict[str, int] = defaultdict(int)
        self.view: dict[tuple[str, str, str], int] = defaultdict(int)  # (conversation, userId, kind) -> seq
        self.acked: dict[tuple[str, str], int] = defaultdict(int)  # (conversation, kind) -> seq sent in an ack
        self.pending: dict[str, asyncio.Future[Any]] = {}  # requestId or clientMsgId -> reply
        self.retry = asyncio.Event()  # a failed integration or a lost socket: resend what is unanswered
        self.sync_wanted = asyncio.Event()
        self.synced_once = asyncio.Event()
        self.acking: dict[str, asyncio.Task[None]] = {}
        self.gap_check: dict[str, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"{self.user}/{self.device_id}"

    # ---- the socket ----

    async def run(self) -> None:
        """Keeps a socket open until closed; each new one syncs first."""
        backoff = 0.2
        while not self.closed:
            query = urllib.parse.urlencode({"token": self.token, "deviceId": self.device_id})
            try:
                ws = await connect(
                    f"{self.soak.stack.ws_url}?{query}", max_size=None, open_timeout=30, ping_interval=None
                )
            except (OSError, TimeoutError, InvalidHandshake):
                self.soak.tally.connect_failures += 1
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(backoff * 2, 5)
                continue
            backoff = 0.2
            self.ws = ws
            self.online.set()
            self.sync_wanted.set()
            try:
                async for raw in ws:
                    self.on_frame(json.loads(raw))
            except ConnectionClosed:
                pass
            finally:
                self.online.clear()
                self.ws = None
                if self.dropping:
                    self.dropping = False
                elif not self.closed:
                    self.soak.tally.cut += 1
                for future in self.pending.values():
                    if not future.done():
                        future.set_result(RETRY)
                self.retry.set()
            if not self.closed:
                await asyncio.sleep(0.05 + 0.3 * self.rng.random())

    async def drop_now_and_then(self) -> None:
        """Cuts the TCP connection (no close frame) at random, as a phone losing its network does."""
        while not self.closed:
            await asyncio.sleep(self.rng.expovariate(1 / self.soak.options.drop_every_s))
            if self.soak.chaos and self.ws is not None and not self.closed:
                self.dropping = True
                self.soak.tally.drops += 1
                self.ws.transport.abort()

    async def send_frame(self, frame: Frame) -> bool:
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            return False
        return True

    async def request(self, frame: Frame, timeout: float = 60.0) -> Frame:
        """Sends a frame until its direct reply comes (again after a lost socket or a failed integration)."""
        while True:
            await self.online.wait()
            request_id = uuid.uuid4().hex
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.pending[request_id] = future
            try:
                if await self.send_frame({**frame, "requestId": request_id}):
                    with contextlib.suppress(TimeoutError):
                        reply = await asyncio.wait_for(asyncio.shield(future), timeout)
                        if reply != RETRY and not (reply.get("type") == "error" and reply["code"] == "internal"):
                            return dict(reply)
            finally:
                self.pending.pop(request_id, None)

    # ---- frames in ----

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind is None and frame.get("message") == "Internal server error":
            # API Gateway's reply to a frame whose function failed: which frame, it does not say.
            self.soak.tally.failed_integrations += 1
            for future in self.pending.values():
                if not future.done():
                    future.set_result(RETRY)
            self.retry.set()
            return
        if kind == "message":
            self.on_message(frame)
        elif kind == "sent":
            self.on_sent(frame)
        elif kind == "receipt":
            self.see_receipt(frame["conversationId"], frame["userId"], frame["kind"], frame["seq"])
        elif kind == "error":
            self.on_error(frame)
        request_id = frame.get("requestId")
        if request_id in self.pending and not self.pending[request_id].done():
            self.pending[request_id].set_result(frame)

    def on_message(self, frame: Frame) -> None:
        tally = self.soak.tally
        conversation, seq = frame["conversationId"], frame["seq"]
        record = (frame["clientMsgId"], frame["senderId"], frame["body"]["text"])
        if not self.hold(conversation, seq, record):
            tally.copies += 1
            return
        key = (frame["senderId"], frame["clientMsgId"])
        if frame["senderId"] != self.user and key not in tally.first_seen:
            tally.first_seen[key] = time.monotonic()

    def hold(self, conversation: str, seq: int, record: Record) -> bool:
        """Keeps a message (False for a copy of one held); a gap asks for a sync; the arrival, for acks."""
        held = self.held[conversation]
        if seq in held:
            if held[seq] != record:
                self.soak.tally.conflicts += 1
            return False
        held[seq] = record
        cursor = self.cursor[conversation]
        while cursor + 1 in held:
            cursor += 1
        self.cursor[conversation] = cursor
        if seq > cursor and not self.gap_check.get(conversation):
            self.gap_check[conversation] = asyncio.ensure_future(self.sync_if_gap(conversation))
        self.ack_soon(conversation)
        return True

    async def sync_if_gap(self, conversation: str) -> None:
        """A gap: what is missing may still be on its way (or the `sent` of one of ours): sync if it lasts."""
        try:
            await asyncio.sleep(GAP_PATIENCE_S)
            if any(seq > self.cursor[conversation] for seq in self.held[conversation]):
                self.soak.tally.gap_syncs += 1
                self.sync_wanted.set()
        finally:
            self.gap_check.pop(conversation, None)

    def on_sent(self, frame: Frame) -> None:
        key = (self.user, frame["clientMsgId"])
        self.soak.tally.acked[key].add((frame["conversationId"], frame["seq"]))
        future = self.pending.get(frame["clientMsgId"])
        if future is not None and not future.done():
            future.set_result(frame)

    def on_error(self, frame: Frame) -> None:
        if frame["code"] == "internal":
            self.soak.tally.internal_errors += 1
            future = self.pending.get(frame.get("clientMsgId") or "")
            if future is not None and not future.done():
                future.set_result(RETRY)
            return
        self.soak.tally.errors.append(frame)
        print(f"error frame at {self}: {frame}", file=sys.stderr)

    def see_receipt(self, conversation: str, user_id: str, kind: str, seq: int) -> None:
        for implied in ("delivered", "read") if kind == "read" else ("delivered",):
            slot = (conversation, user_id, implied)
            self.view[slot] = max(self.view[slot], seq)

    # ---- sending ----

    async def send_all(self) -> None:
        plan = self.soak.plan
        for conversation_key, count in plan.bursts.get((self.user, self.device_id), []):
            for _ in range(count):
                await self.soak.pace()
                await self.send_one(self.soak.conversation(conversation_key))
            await asyncio.sleep(self.rng.uniform(0.2, 2.0))

    async def send_one(self, conversation: Conversation) -> None:
        tally = self.soak.tally
        client_msg_id = f"m-{uuid.uuid4().hex[:16]}"
        text = f"{self} #{tally.planned} in {conversation.key}"
        tally.planned += 1
        known = self.soak.ids.get(conversation.key)
        if conversation.direct and known not in self.held:  # not seen yet: by the other user's id
            (to,) = [u for u in conversation.members if u != self.user]
            target: Frame = {"to": to}
        elif conversation.direct:
            target = {"conversationId": known}
        else:
            target = {"conversationId": self.soak.group_ids[conversation.key]}
        frame = {"action": "send", "clientMsgId": client_msg_id, "body": {"text": text}, **target}
        key = (self.user, client_msg_id)
        first = True
        while True:
            await self.online.wait()
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.pending[client_msg_id] = future
            self.retry.clear()
            if first:
                tally.sent_at[key] = time.monotonic()
                first = False
            else:
                tally.resends += 1
            if await self.send_frame(frame):
                retry = asyncio.ensure_future(self.retry.wait())
                await asyncio.wait(
                    {future, retry}, timeout=self.soak.options.send_timeout_s, return_when=asyncio.FIRST_COMPLETED
                )
                retry.cancel()
                if future.done() and future.result() != RETRY:
                    reply = future.result()
                    self.pending.pop(client_msg_id, None)
                    tally.conversation_ids[reply["conversationId"]] = conversation.key
                    self.soak.ids[conversation.key] = reply["conversationId"]
                    # The sending device gets `sent`, not the `message`: it holds what it sent.
                    self.hold(reply["conversationId"], reply["seq"], (client_msg_id, self.user, text))
                    return
            self.pending.pop(client_msg_id, None)

    # ---- syncing ----

    async def keep_synced(self) -> None:
        while not self.closed:
            await self.sync_wanted.wait()
            self.sync_wanted.clear()
            await self.sync()
            self.synced_once.set()

    async def sync(self) -> Frame:
        """Syncs until `complete` and no conversation is new; returns the last `synced`."""
        while True:
            self.soak.tally.syncs += 1
            known = {c: self.cursor[c] for c in self.held}
            synced = await self.request({"action": "sync", "cursors": known})
            if synced.get("type") != "synced":  # an error frame (counted): a bug to report, not to stop on
                await asyncio.sleep(1)
                continue
            new = False
            for summary in synced["conversations"]:
                conversation = summary["conversationId"]
                if conversation not in known:
                    new = True
                    _ = self.held[conversation]  # known from now on: the next sync asks from its cursor
                for r in summary["receipts"]:
                    self.see_receipt(conversation, r["userId"], r["kind"], r["seq"])
            if synced["complete"] and not new:
                return synced

    # ---- acknowledging ----

    def ack_soon(self, conversation: str) -> None:
        task = self.acking.get(conversation)
        if task is None or task.done():
            self.acking[conversation] = asyncio.ensure_future(self.ack_later(conversation))

    async def ack_later(self, conversation: str) -> None:
        """Acks what arrived meanwhile. The user's first device, in front of the user, shows the chat: it
        acks `read` (which is delivered too), except in chats the user never opens, where it acks
        `delivered`; the other device acks `delivered` a little later, unless it learnt meanwhile
        (from a `receipt`) that its user's watermark is there already."""
        if self.reads(conversation):
            await asyncio.sleep(self.rng.uniform(2.0, 5.0))
            await self.ack(conversation, "read")
        else:
            await asyncio.sleep(self.rng.uniform(1.0, 3.0) if self.reader_device else self.rng.uniform(3.0, 6.0))
            await self.ack(conversation, "delivered")

    def reads(self, conversation: str) -> bool:
        key = self.soak.tally.conversation_ids.get(conversation)
        return self.reader_device and key is not None and (self.user, key) not in self.soak.plan.muted

    async def ack(self, conversation: str, kind: str) -> None:
        """Acks up to the cursor, unless the user's watermark is there already (another device acked)."""
        seq = self.cursor[conversation]
        ours = max((s for s, held in self.held[conversation].items() if held[1] == self.user), default=0)
        # Sending moved the user's watermarks to each of its messages: acking up to one of them moves nothing.
        if seq <= max(self.acked[(conversation, kind)], self.view[(conversation, self.user, kind)], ours):
            return
        if await self.send_frame({"action": kind, "conversationId": conversation, "seq": seq}):
            self.acked[(conversation, kind)] = seq


# ---- the run --------------------------------------------------------------------------------------------


class Soak:
    def __init__(self, options: Options, stack: LocalStackProcess) -> None:
        self.options = options
        self.stack = stack
        self.rng = random.Random(options.seed)
        self.plan = Plan.make(options, self.rng)
        self.tally = Tally()
        self.devices: list[Device] = []
        self.group_ids: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # planned conversation -> its conversationId, once created
        self.chaos = True
        self._next_send = 0.0
        self.expected: dict[tuple[str, str, str], int] = {}
        self.settled = False
        self.paged: dict[Device, dict[str, dict[int, Record]]] = {}

    def conversation(self, key: str) -> Conversation:
        return next(c for c in self.plan.conversations if c.key == key)

    async def pace(self) -> None:
        if self.options.rate <= 0:
            return
        now = time.monotonic()
        self._next_send = max(self._next_send + 1 / self.options.rate, now)
        await asyncio.sleep(self._next_send - now)

    def progress(self, phase: str) -> None:
        t = self.tally
        acked = len(t.acked)
        elapsed = time.monotonic() - t.started
        print(
            f"[{elapsed:6.0f} s] {phase}: {acked}/{self.options.messages} sent ({acked / max(elapsed, 1):.1f}/s), "
            f"resends {t.resends}, failed integrations {t.failed_integrations}, drops {t.drops}, cut {t.cut}, "
            f"syncs {t.syncs}",
            file=sys.stderr,
            flush=True,
        )

    async def report_progress(self, phase: Callable[[], str]) -> None:
        while True:
            await asyncio.sleep(30)
            self.progress(phase())

    async def start(self) -> None:
        tokens = await asyncio.gather(*(asyncio.to_thread(self.stack.token, u) for u in self.plan.users))
        token_of = dict(zip(self.plan.users, tokens, strict=True))
        for user in self.plan.users:
            for device_id in self.plan.devices[user]:
                device = Device(self, user, device_id, token_of[user], random.Random(self.rng.random()))
                self.devices.append(device)
                device.tasks.append(asyncio.ensure_future(device.run()))
                device.tasks.append(asyncio.ensure_future(device.keep_synced()))
        await asyncio.gather(*(d.synced_once.wait() for d in self.devices))
        # The groups, each created by its first member's first device.
        for conversation in self.plan.conversations:
            if not conversation.direct:
                creator = self.device(conversation.members[0], "phone")
                reply = await creator.request(
                    {"action": "createGroup", "name": conversation.key, "members": list(conversation.members[1:])}
                )
                assert reply["type"] == "group", reply
                self.group_ids[conversation.key] = reply["conversationId"]
                self.tally.conversation_ids[reply["conversationId"]] = conversation.key

    def device(self, user: str, device_id: str) -> Device:
        return next(d for d in self.devices if d.user == user and d.device_id == device_id)

    async def run(self) -> None:
        phase = "connecting"
        progress = asyncio.ensure_future(self.report_progress(lambda: phase))
        try:
            await self.start()
            for device in self.devices:
                device.tasks.append(asyncio.ensure_future(device.drop_now_and_then()))
            phase = "sending"
            await asyncio.gather(*(d.send_all() for d in self.devices))
            self.progress("all sent")
            phase = "final sync"
            self.chaos = False
            await self.final_sync()
            phase = "final acks"
            await asyncio.gather(*(self.final_acks(d) for d in self.devices))
            phase = "settling"
            self.expected = self.expected_watermarks()
            self.settled = await self.settle()
            phase = "history"
            pages = await asyncio.gather(*(self.history(d) for d in self.devices))
            self.paged = dict(zip(self.devices, pages, strict=True))
        finally:
            progress.cancel()

    async def final_sync(self) -> None:
        async def one(device: Device) -> None:
            await device.online.wait()
            await device.sync()

        await asyncio.gather(*(one(d) for d in self.devices))

    async def final_acks(self, device: Device) -> None:
        """Acks everything held (read, where the user reads), until `sync` shows each ack applied."""
        for attempt in range(20):
            wanted = {}
            for conversation in list(device.held):
                seq = device.cursor[conversation]
                kind = "read" if device.reads(conversation) else "delivered"
                wanted.update({(conversation, k): seq for k in ("delivered", kind)})
                if seq > device.view[(conversation, device.user, kind)]:
                    device.acked[(conversation, kind)] = max(device.acked[(conversation, kind)], seq)
                    await device.online.wait()
                    await device.send_frame({"action": kind, "conversationId": conversation, "seq": seq})
            synced = await device.sync()
            own = {
                (c["conversationId"], r["kind"]): r["seq"]
                for c in synced["conversations"]
                for r in c["receipts"]
                if r["userId"] == device.user
            }
            if all(own.get(slot, 0) >= seq for slot, seq in wanted.items()):
                return
            await asyncio.sleep(0.5 * (attempt + 1))
        print(f"{device}: its acks were never all applied", file=sys.stderr)

    def expected_watermarks(self) -> dict[tuple[str, str, str], int]:
        """(conversationId, userId, kind) -> the watermark the recipients' acks (and their sends) make."""
        marks: dict[tuple[str, str, str], int] = defaultdict(int)
        for device in self.devices:
            for (conversation, kind), seq in device.acked.items():
                for implied in ("delivered", "read") if kind == "read" else ("delivered",):
                    slot = (conversation, device.user, implied)
                    marks[slot] = max(marks[slot], seq)
        ids = {key: conversation_id for conversation_id, key in self.tally.conversation_ids.items()}
        for (sender, _), answers in self.tally.acked.items():
            for conversation, seq in answers:
                for kind in ("delivered", "read"):
                    marks[(conversation, sender, kind)] = max(marks[(conversation, sender, kind)], seq)
        for planned in self.plan.conversations:
            if planned.direct or planned.key not in ids:
                continue
            group = ids[planned.key]
            for kind in ("delivered", "read"):
                marks[(group, "*", kind)] = min(marks[(group, u, kind)] for u in planned.members)
        return marks

    def told(self, device: Device) -> dict[tuple[str, str, str], int]:
        """The check marks a device should show: a direct chat's both users, a group's "*" and its own."""
        shown = {}
        for conversation in device.held:
            key = self.tally.conversation_ids[conversation]
            users = self.conversation(key).members if key.startswith("direct:") else (device.user, "*")
            for user in users:
                for kind in ("delivered", "read"):
                    shown[(conversation, user, kind)] = self.expected[(conversation, user, kind)]
        return shown

    def unsettled(self) -> list[Device]:
        return [d for d in self.devices if {slot: d.view[slot] for slot in self.told(d)} != self.told(d)]

    async def settle(self) -> bool:
        deadline = time.monotonic() + self.options.settle_s
        while self.unsettled():
            if time.monotonic() > deadline:
                for device in self.unsettled()[:5]:
                    wrong = {s: (device.view[s], e) for s, e in self.told(device).items() if device.view[s] != e}
                    print(f"{device} shows (seen, expected) {wrong}", file=sys.stderr)
                return False
            await asyncio.sleep(0.25)
        return True

    async def history(self, device: Device) -> dict[str, dict[int, Record]]:
        paged: dict[str, dict[int, Record]] = {}
        for conversation in list(device.held):
            page: dict[int, Record] = {}
            before: int | None = None
            while True:
                frame: Frame = {"action": "history", "conversationId": conversation, "limit": HISTORY_PAGE}
                if before is not None:
                    frame["beforeSeq"] = before
                reply = await device.request(frame)
                if reply.get("type") != "history":  # an error frame (counted)
                    break
                for m in reply["messages"]:
                    page[m["seq"]] = (m["clientMsgId"], m["senderId"], m["body"]["text"])
                if not reply["hasMore"] or not reply["messages"]:
                    break
                before = reply["messages"][0]["seq"]
            paged[conversation] = page
        return paged

    async def close(self) -> None:
        for device in self.devices:
            device.closed = True
            if device.ws is not None:
                with contextlib.suppress(Exception):
                    await device.ws.close()
        for device in self.devices:
            for task in [*device.tasks, *device.acking.values()]:
                task.cancel()
        await asyncio.gather(*(t for d in self.devices for t in d.tasks), return_exceptions=True)


# ---- what is stored, and the verdict ---------------------------------------------------------------------


def scan(dynamodb: Any, logical_name: str) -> list[dict[str, Any]]:
    name = default_table_environment()[TABLES[logical_name].env]
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(page["Items"])
    return items


@dataclass
class Stored:
    messages: dict[str, dict[int, Record]]  # conversationId -> seq -> record
    copies: int  # extra copies of a (conversation, sender, clientMsgId)
    last_seq: dict[str, int]
    members: dict[str, dict[str, dict[str, int]]]  # conversationId -> userId -> {"delivered", "read"}
    minimums: dict[str, dict[str, int]]  # group conversationId -> {"delivered", "read"} of "*"

    @classmethod
    def read(cls, stack: LocalStackProcess) -> Stored:
        dynamodb = stack.dynamodb()
        messages: dict[str, dict[int, Record]] = defaultdict(dict)
        ids: Counter[tuple[str, str, str]] = Counter()
        for item in scan(dynamodb, "Messages"):
            conversation, seq = item["conversationId"]["S"], int(item["seq"]["N"])
            record = (item["clientMsgId"]["S"], item["senderId"]["S"], item["body"]["M"]["text"]["S"])
            messages[conversation][seq] = record
            ids[(conversation, record[1], record[0])] += 1
        last_seq, minimums = {}, {}
        for item in scan(dynamodb, "Conversations"):
            if item["kind"]["S"] in ("direct", "group"):
                conversation = item["conversationId"]["S"]
                last_seq[conversation] = int(item.get("lastSeq", {"N": "0"})["N"])
                if item["kind"]["S"] == "group":
                    minimums[conversation] = {
                        "delivered": int(item.get("allDelivered", {"N": "0"})["N"]),
                        "read": int(item.get("allRead", {"N": "0"})["N"]),
                    }
        members: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        for item in scan(dynamodb, "Members"):
            members[item["conversationId"]["S"]][item["userId"]["S"]] = {
                "delivered": int(item.get("deliveredSeq", {"N": "0"})["N"]),
                "read": int(item.get("readSeq", {"N": "0"})["N"]),
            }
        copies = sum(n - 1 for n in ids.values())
        return cls(dict(messages), copies, last_seq, dict(members), minimums)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


def verdict(soak: Soak, stored: Stored, duration_s: float) -> tuple[str, bool]:
    tally = soak.tally
    lost = sum(
        1
        for (sender, client_msg_id), answers in tally.acked.items()
        for conversation, seq in answers
        if len(answers) > 1
        or stored.messages.get(conversation, {}).get(seq, ("", "", ""))[:2] != (client_msg_id, sender)
    )
    gaps = 0
    for conversation, top in stored.last_seq.items():
        seqs = set(stored.messages.get(conversation, {}))
        gaps += len(set(range(1, top + 1)) - seqs) + len({s for s in seqs if s > top})
    gaps += len(set(stored.messages) - set(stored.last_seq))  # messages of no conversation
    differing = 0
    for device in soak.devices:
        mine = {c for c, m in stored.members.items() if device.user in m}
        views = [{c: dict(device.held[c]) for c in device.held}, soak.paged[device]]
        if any(set(view) != mine or any(view[c] != stored.messages.get(c, {}) for c in mine) for view in views):
            differing += 1
            print(f"{device}: its messages differ from the store", file=sys.stderr)
    wrong_marks = [
        (c, u, k, stored.members[c][u][k], soak.expected[(c, u, k)])
        for c in stored.members
        for u in stored.members[c]
        for k in ("delivered", "read")
        if stored.members[c][u][k] != soak.expected[(c, u, k)]
    ] + [
        (c, "*", k, stored.minimums[c][k], soak.expected[(c, "*", k)])
        for c in stored.minimums
        for k in ("delivered", "read")
        if stored.minimums[c][k] != soak.expected[(c, "*", k)]
    ]
    for conversation, user, kind, held, expected in wrong_marks[:10]:
        print(f"stored {kind} of {user} in {conversation}: {held}, expected {expected}", file=sys.stderr)
    if len(wrong_marks) > 10:
        print(f"... and {len(wrong_marks) - 10} more", file=sys.stderr)
    converged = soak.settled and not wrong_marks
    unanswered = tally.planned - len(tally.acked)
    latencies = [(tally.first_seen[k] - tally.sent_at[k]) * 1000 for k in tally.first_seen if k in tally.sent_at]
    stored_count = sum(len(m) for m in stored.messages.values())
    checks_ok = (
        lost == stored.copies == gaps == differing == unanswered == len(tally.errors) == tally.conflicts == 0
        and converged
    )
    line = (
        f"soak {'PASS' if checks_ok else 'FAIL'}: acknowledged {len(tally.acked)}, stored {stored_count}, "
        f"lost {lost}, duplicated {stored.copies}, gaps {gaps}, differing {differing}, unanswered {unanswered}, "
        f"errors {len(tally.errors)}, converged {'yes' if converged else 'no'}; "
        f"latency p50 {percentile(latencies, 0.5):.0f} ms p99 {percentile(latencies, 0.99):.0f} ms; "
        f"{len(soak.devices)} devices, {len(soak.plan.users)} users, {len(stored.last_seq)} conversations; "
        f"{duration_s:.0f} s"
    )
    return line, checks_ok


def faults_fired(stack: LocalStackProcess) -> str:
    with urllib.request.urlopen(f"{stack.http_url}/health", timeout=10) as response:
        faults = json.loads(response.read())["faults"]
    return ", ".join(f"{f['point']} {f['fired']}" for f in faults) or "none"


def cpu_seconds(stack: LocalStackProcess) -> float:
    """CPU time the stack's process has used so far (Linux)."""
    process = stack._process
    try:
        fields = Path(f"/proc/{process.pid if process else 0}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def soak(options: Options) -> int:
    started = time.monotonic()
    env = {"CHAT_FAULTS": options.faults, "CHAT_FAULTS_SEED": str(options.seed)}
    print(f"starting a local stack (log: {options.log}) with faults {options.faults or 'none'}", file=sys.stderr)
    with LocalStackProcess(log_path=options.log, env=env) as stack:
        run = Soak(options, stack)
        print(
            f"{options.messages} messages, {len(run.plan.users)} users on {options.devices} devices, "
            f"{len(run.plan.conversations)} conversations",
            file=sys.stderr,
        )
        try:
            async with asyncio.timeout(options.max_seconds - (time.monotonic() - started)):
                await run.run()
        except TimeoutError:
            run.progress("stopped")
            print(f"soak FAIL: not done after --max-seconds {options.max_seconds:g}", flush=True)
            await run.close()
            return 1
        await run.close()
        stored = await asyncio.to_thread(Stored.read, stack)
        tally = run.tally
        print(
            f"faults fired: {faults_fired(stack)}; sockets dropped {tally.drops}, cut by the stack {tally.cut}; "
            f"resends {tally.resends}, failed integrations {tally.failed_integrations}, internal errors "
            f"{tally.internal_errors}; syncs {tally.syncs} (gaps {tally.gap_syncs}); copies dropped {tally.copies}",
            file=sys.stderr,
        )
        print(f"CPU: stack {cpu_seconds(stack):.0f} s, this script {time.process_time():.0f} s", file=sys.stderr)
        line, ok = verdict(run, stored, time.monotonic() - started)
        print(line, flush=True)
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(soak(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
