"""Cost per message, counted: every AWS request of the main paths on a local stack, in dollars.

    .venv/bin/python scripts/bench_cost.py                 # starts a local stack of its own (~3.5 min)
    .venv/bin/python scripts/bench_cost.py --members 50    # a smaller group, quicker (~1 min)
    .venv/bin/python scripts/bench_cost.py --json costs.json   # also every counter of every path

The stack runs with the cost meter on (LOCAL_COST_METER=1, `local/costs.py`): every AWS request a
function makes, DynamoDB's read and write request units computed from item sizes, every frame a
client sends, every route reply and @connections POST, Lambda invocations and GB-seconds, log bytes.
Each path is measured between two snapshots of the counters, each taken once the stack is quiet (no
invocation running, nothing counted for a moment), so what the streams set off is in its path:

  (a) a 1:1 message: alice (2 devices) sends to bob (2 devices); bob's phone acks delivered, then
      read; every push that follows (the message to 3 devices, the receipts);
  (b) a message to a group of --members members (one device each) and its fan-out; then every
      member's delivered ack and what it sets off;
  (c) a device's `sync` after a gap of --gap messages; and the disconnect and reconnect around it;
  (d) a photo in the 1:1 chat: requestUpload, the upload to S3, the send with its attachment and its
      fan-out, each of the 3 receiving devices downloading it once;
  (e) --burst messages to a user whose only device has no socket but a push token: the notify
      function for each, and the one notification the burst gives (coalesced).

S3 requests the clients make (the presigned upload and downloads) and SNS requests (the local stack
records notifications instead of sending them) make no request a function makes: the paths add them
as AWS would bill them, under the function name "client" and "sns".

Prices are us-east-1 list prices (PRICES below, with their sources and the date they were checked);
free tiers are left out. Compared with the floor: one write unit to store a message, one API Gateway
message in, one POST per recipient device, one message in and one POST per receipt (each row's
`Floor`). The scheduled sweep is held off (LOCAL_SCHEDULE_SCALE) so that it falls in no path.

Against a stack already running: `LOCAL_COST_METER=1 LOCAL_SCHEDULE_SCALE=100000 make dev`, then
`--url ws://127.0.0.1:8080/ws`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cli import uploads
from local import costs
from local.process import LocalStackProcess

Frame = dict[str, Any]
QUIET_S = 0.6
# S3's request tiers: these are billed as writes; DELETE is free; everything else as reads.
S3_WRITES = frozenset({"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects"})
S3_FREE = frozenset({"DeleteObject"})
PHOTO_BYTES = 100 * 1024
# chat/notify.py's coalescing window (not imported: the models need an AWS region at import).
NOTIFY_WINDOW_S = 30

# ---- prices ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    dollars: float  # per `per` units
    per: float
    unit: str
    source: str


# Checked against the pricing pages (through copies of them, where AWS renders its prices in the browser).
# DynamoDB's on-demand prices are those of 2024-11-01 (halved then); Lambda's arm64 prices are those it
# launched with (2021-09), API Gateway's WebSocket prices those of its launch (2018-12), still listed.
CHECKED = "2026-11-30"
PRICES: dict[str, Price] = {
    "wru": Price(0.625, 1e6, "DynamoDB on-demand write request unit", "aws.amazon.com/dynamodb/pricing/on-demand"),
    "rru": Price(0.125, 1e6, "DynamoDB on-demand read request unit", "aws.amazon.com/dynamodb/pricing/on-demand"),
    "message": Price(
        1.00,
        1e6,
        "API Gateway WebSocket message, in or out, per 32 KB (first 1 billion a month)",
        "aws.amazon.com/api-gateway/pricing",
    ),
    "connection_minute": Price(
        0.25, 1e6, "API Gateway WebSocket connection minute", "aws.amazon.com/api-gateway/pricing"
    ),
    "invocation": Price(0.20, 1e6, "Lambda request", "aws.amazon.com/lambda/pricing"),
    "gb_s": Price(
        0.0000133334, 1, "Lambda GB-second, arm64 (first 7.5 billion GB-s a month)", "aws.amazon.com/lambda/pricing"
    ),
    "sqs": Price(0.40, 1e6, "SQS standard request (per 64 KB)", "aws.amazon.com/sqs/pricing"),
    "s3_write": Price(0.005, 1e3, "S3 Standard PUT, COPY, POST, LIST request", "aws.amazon.com/s3/pricing"),
    "s3_read": Price(0.0004, 1e3, "S3 Standard GET, HEAD and other request", "aws.amazon.com/s3/pricing"),
    "sns_push": Price(0.50, 1e6, "SNS mobile push notification", "aws.amazon.com/sns/pricing"),
    "sns_request": Price(0.50, 1e6, "SNS API request (per 64 KB)", "aws.amazon.com/sns/pricing"),
    "log_gb": Price(0.50, 1, "CloudWatch Logs ingestion, per GB (Standard)", "aws.amazon.com/cloudwatch/pricing"),
    "stream_read": Price(
        0.0,
        1,
        "DynamoDB Streams GetRecords by a Lambda event source mapping: free",
        "docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html",
    ),
}


def dollars(kind: str, amount: float) -> float:
    price = PRICES[kind]
    return amount * price.dollars / price.per


# ---- what a path used ----------------------------------------------------------------------------------


@dataclass
class Usage:
    """One path's counters (a difference of two snapshots), divided by how many times it ran."""

    counters: dict[str, float]
    times: int = 1

    def total(self, metric: str, where: Callable[[list[str]], bool] | None = None) -> float:
        return costs.totals(self.counters, metric, where) / self.times

    @property
    def dynamodb_requests(self) -> float:
        return self.total("request", lambda p: p[1] == "dynamodb")

    @property
    def rru(self) -> float:
        return self.total("rru")

    @property
    def wru(self) -> float:
        return self.total("wru")

    @property
    def messages_in(self) -> float:
        return self.total("messages_in")

    @property
    def frames_in(self) -> float:
        return self.total("frames_in")

    @property
    def replies(self) -> float:
        return self.total("messages_out", lambda p: p[1] == "reply")

    @property
    def posts(self) -> float:
        return self.total("messages_out", lambda p: p[1] == "post")

    @property
    def post_requests(self) -> float:
        return self.total("request", lambda p: p[1:] == ["apigatewaymanagementapi", "PostToConnection"])

    @property
    def invocations(self) -> float:
        return self.total("invocations")

    @property
    def gb_s(self) -> float:
        return self.total("gb_s")

    @property
    def sqs_requests(self) -> float:
        return self.total("request", lambda p: p[1] == "sqs")

    @property
    def s3_writes(self) -> float:
        return self.total("request", lambda p: p[1] == "s3" and p[2] in S3_WRITES)

    @property
    def s3_reads(self) -> float:
        return self.total("request", lambda p: p[1] == "s3" and p[2] not in S3_WRITES | S3_FREE)

    @property
    def sns_pushes(self) -> float:
        return self.total("request", lambda p: p[1:] == ["sns", "Publish"])

    @property
    def sns_requests(self) -> float:
        return self.total("request", lambda p: p[1] == "sns" and p[2] != "Publish")

    @property
    def stream_reads(self) -> float:
        return self.total("request", lambda p: p[1:] == ["dynamodbstreams", "GetRecords"])

    @property
    def log_bytes(self) -> float:
        return self.total("log_bytes")

    def dollars(self) -> dict[str, float]:
        """What one run of the path costs, by item."""
        return {
            "DynamoDB writes": dollars("wru", self.wru),
            "DynamoDB reads": dollars("rru", self.rru),
            "API Gateway messages": dollars("message", self.messages_in + self.replies + self.posts),
            "Lambda requests": dollars("invocation", self.invocations),
            "Lambda GB-s": dollars("gb_s", self.gb_s),
            "SQS": dollars("sqs", self.sqs_requests),
            "S3 requests": dollars("s3_write", self.s3_writes) + dollars("s3_read", self.s3_reads),
            "SNS": dollars("sns_push", self.sns_pushes) + dollars("sns_request", self.sns_requests),
            "CloudWatch Logs": dollars("log_gb", self.log_bytes / 2**30),
        }

    def cost(self) -> float:
        return sum(self.dollars().values())

    def adding(self, requests: dict[tuple[str, str, str], float]) -> Usage:
        """This path with requests no function made (a client's S3 requests, SNS's), per run:
        (who, service, operation) -> how many."""
        counters = dict(self.counters)
        for (who, service, operation), count in requests.items():
            key = f"request|{who}|{service}|{operation}"
            counters[key] = counters.get(key, 0.0) + count * self.times
        return Usage(counters, self.times)

    def plus(self, other: Usage) -> Usage:
        """The sum of two paths, each per run."""
        merged: dict[str, float] = {}
        for usage in (self, other):
            for key, value in usage.counters.items():
                merged[key] = merged.get(key, 0.0) + value / usage.times
        return Usage(merged)


@dataclass(frozen=True)
class Floor:
    """The least a path can cost: write units, messages in, POSTs (and replies), read units."""

    wru: float = 0
    messages_in: float = 0
    messages_out: float = 0
    rru: float = 0
    note: str = ""
    s3_writes: float = 0  # the upload
    s3_reads: float = 0  # one download per receiving device
    pushes: float = 0  # SNS mobile push notifications

    def cost(self) -> float:
        return (
            dollars("wru", self.wru)
            + dollars("rru", self.rru)
            + dollars("message", self.messages_in + self.messages_out)
            + dollars("s3_write", self.s3_writes)
            + dollars("s3_read", self.s3_reads)
            + dollars("sns_push", self.pushes)
        )

    def plus(self, other: Floor) -> Floor:
        return Floor(
            wru=self.wru + other.wru,
            messages_in=self.messages_in + other.messages_in,
            messages_out=self.messages_out + other.messages_out,
            rru=self.rru + other.rru,
            s3_writes=self.s3_writes + other.s3_writes,
            s3_reads=self.s3_reads + other.s3_reads,
            pushes=self.pushes + other.pushes,
        )


@dataclass
class Row:
    name: str
    per: str  # what one run is: "message", "sync", ...
    usage: Usage
    floor: Floor | None
    detail: bool = False  # a part of the path on the next total row


# ---- clients -------------------------------------------------------------------------------------------------


class Device:
    """One device's socket, keeping every frame it receives."""

    def __init__(self, ws: ClientConnection, user: str, device: str) -> None:
        self.ws = ws
        self.user = user
        self.device = device
        self.frames: list[Frame] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str, http_url: str, user: str, device: str, token: str | None = None) -> Device:
        """Signs in (locally: runs the signup function, as Cognito's trigger does once) unless given a token."""
        token = token or await asyncio.to_thread(_token, http_url, user)
        query = urllib.parse.urlencode({"token": token, "deviceId": device})
        ws = await connect(f"{ws_url}?{query}", max_size=None, open_timeout=120)
        return cls(ws, user, device)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "error" or ("message" in frame and "type" not in frame):
                    print(f"  {self.user}/{self.device} got {frame}", file=sys.stderr)
                self.frames.append(frame)
                self.arrived.set()
        except ConnectionClosed:
            pass

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 120) -> Frame:
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user}/{self.device}: no matching frame in {timeout} s")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=min(remaining, 1.0))

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait([self.reader], timeout=10)


def _token(http_url: str, user: str) -> str:
    with urllib.request.urlopen(f"{http_url}/dev/token?{urllib.parse.urlencode({'userId': user})}") as response:
        return str(json.loads(response.read())["token"])


def user_id() -> str:
    """A user id as in AWS, the ID token's `sub` (a UUID): item sizes, and so units, depend on its length."""
    return str(uuid.uuid4())


def is_(frame_type: str, **fields: Any) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == frame_type and all(f.get(k) == v for k, v in fields.items())


class Stack(Protocol):
    http_url: str
    ws_url: str

    def costs(self) -> dict[str, Any]: ...


class RunningStack:
    """A stack started elsewhere (`LOCAL_COST_METER=1 make dev`)."""

    def __init__(self, ws_url: str) -> None:
        parts = urllib.parse.urlsplit(ws_url)
        self.ws_url = ws_url
        self.http_url = f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"

    def costs(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.http_url}/dev/costs", timeout=10) as response:
            snapshot: dict[str, Any] = json.loads(response.read())
        return snapshot


class Meter:
    """Snapshots of the stack's counters, taken once it is quiet."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def quiet(self, timeout: float = 300) -> dict[str, float]:
        """The counters, once no invocation runs and nothing was counted for QUIET_S."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = await asyncio.to_thread(self.stack.costs)
            if snapshot["in_flight"] == 0 and snapshot["idle_s"] >= QUIET_S:
                counters: dict[str, float] = snapshot["counters"]
                return counters
            if time.monotonic() > deadline:
                raise TimeoutError("the stack did not go quiet")
            await asyncio.sleep(max(0.05, QUIET_S - snapshot["idle_s"]))


# ---- the paths -------------------------------------------------------------------------------------------------


async def direct_message(stack: Stack, meter: Meter, messages: int, gap: int) -> list[Row]:
    alice, bob = user_id(), user_id()
    open_ = stack.ws_url, stack.http_url
    a_phone = await Device.open(*open_, alice, "phone")
    a_laptop = await Device.open(*open_, alice, "laptop")
    b_phone = await Device.open(*open_, bob, "phone")
    b_tablet = await Device.open(*open_, bob, "tablet")

    async def one(n: int, conversation: str | None) -> tuple[str, int, list[dict[str, float]]]:
        """One message and its receipts; the counters after each step."""
        marks = [await meter.quiet()]
        target = {"conversationId": conversation} if conversation else {"to": bob}
        await a_phone.send({"action": "send", **target, "clientMsgId": f"c{n}", "body": {"text": f"hello {n}"}})
        sent = await a_phone.wait_for(is_("sent", clientMsgId=f"c{n}"))
        conversation, seq = sent["conversationId"], sent["seq"]
        for device in (b_phone, b_tablet, a_laptop):
            await device.wait_for(is_("message", conversationId=conversation, seq=seq))
        marks.append(await meter.quiet())
        for kind in ("delivered", "read"):
            await b_phone.send({"action": kind, "conversationId": conversation, "seq": seq})
            await a_phone.wait_for(is_("receipt", conversationId=conversation, userId=bob, kind=kind, seq=seq))
            marks.append(await meter.quiet())
        return conversation, seq, marks

    print("(a) warming up: the first message of the chat (it creates the conversation)...", file=sys.stderr)
    conversation, _, _ = await one(0, None)
    steps: list[dict[str, float]] = [{}, {}, {}]
    for n in range(1, messages + 1):
        print(f"(a) message {n} of {messages}...", file=sys.stderr)
        _, seq, marks = await one(n, conversation)
        for i in range(3):
            for key, value in costs.difference(marks[i + 1], marks[i]).items():
                steps[i][key] = steps[i].get(key, 0.0) + value
    send, delivered, read = (Usage(s, messages) for s in steps)
    rows = [
        Row("a. send, fan-out to 3 devices", "message", send, Floor(wru=1, messages_in=1, messages_out=3), True),
        Row("a. delivered ack, its pushes", "message", delivered, Floor(messages_in=1, messages_out=1), True),
        Row("a. read ack, its pushes", "message", read, Floor(messages_in=1, messages_out=1), True),
    ]
    rows.append(
        Row(
            "(a) 1:1 message, end to end",
            "message",
            send.plus(delivered).plus(read),
            Floor(wru=1, messages_in=3, messages_out=5),
        )
    )
    rows += await photo_message(meter, a_phone, [b_phone, b_tablet, a_laptop], conversation)
    rows += await reconnect_and_sync(stack, meter, a_phone, b_tablet, conversation, seq, gap)
    for device in (a_phone, a_laptop, b_phone):
        await device.close()
    return rows


async def photo_message(meter: Meter, sender: Device, receivers: list[Device], conversation: str) -> list[Row]:
    """(d): requestUpload, the presigned POST, the send with its attachment, its fan-out, one download each."""
    print(f"(d) a {PHOTO_BYTES // 1024} KB photo to {len(receivers)} devices...", file=sys.stderr)
    start = await meter.quiet()
    await sender.send(
        {"action": "requestUpload", "conversationId": conversation, "contentType": "image/png", "size": PHOTO_BYTES}
    )
    ready = await sender.wait_for(is_("uploadReady"))
    await asyncio.to_thread(uploads.upload, ready, "photo.png", b"\x89PNG" + bytes(PHOTO_BYTES - 4), "image/png")
    attachment = {"attachmentId": ready["attachmentId"], "contentType": "image/png", "size": PHOTO_BYTES}
    await sender.send(
        {"action": "send", "conversationId": conversation, "clientMsgId": "photo", "body": {"text": ""},
         "attachment": attachment}
    )  # fmt: skip
    seq = (await sender.wait_for(is_("sent", clientMsgId="photo")))["seq"]
    urls = []
    for device in receivers:
        message = await device.wait_for(is_("message", conversationId=conversation, seq=seq))
        urls.append(message["attachment"]["url"])
    for url in urls:
        with urllib.request.urlopen(url, timeout=60) as response:
            assert len(response.read()) == PHOTO_BYTES
    done = await meter.quiet()
    usage = Usage(costs.difference(done, start)).adding(
        {("client", "s3", "PostObject"): 1, ("client", "s3", "GetObject"): len(urls)}
    )
    floor = Floor(wru=1, messages_in=2, messages_out=len(receivers), s3_writes=1, s3_reads=len(urls))
    return [Row(f"(d) 1:1 photo ({PHOTO_BYTES // 1024} KB), upload to downloads", "photo", usage, floor)]


async def push_burst(stack: Stack, meter: Meter, burst: int) -> list[Row]:
    """(e): a burst of messages to a user whose only device has no socket but a push token."""
    alice, bob = user_id(), user_id()
    phone = await Device.open(stack.ws_url, stack.http_url, bob, "phone")
    await phone.send({"action": "registerPush", "platform": "fcm", "token": f"fcm-{bob}"})
    await phone.wait_for(is_("pushRegistered"))
    await phone.close()
    sender = await Device.open(stack.ws_url, stack.http_url, alice, "phone")
    await sender.send({"action": "send", "to": bob, "clientMsgId": "p0", "body": {"text": "warm-up"}})
    conversation = (await sender.wait_for(is_("sent", clientMsgId="p0")))["conversationId"]
    await asyncio.sleep(NOTIFY_WINDOW_S + 1)  # the warm-up's notification window runs out
    print(f"(e) {burst} messages to a device with no socket...", file=sys.stderr)
    before_notified = await asyncio.to_thread(_notified, stack.http_url, bob)
    start = await meter.quiet()
    for n in range(1, burst + 1):
        await sender.send(
            {"action": "send", "conversationId": conversation, "clientMsgId": f"p{n}", "body": {"text": "hi"}}
        )
        await sender.wait_for(is_("sent", clientMsgId=f"p{n}"))
    done = await meter.quiet()
    notified = await asyncio.to_thread(_notified, stack.http_url, bob) - before_notified
    print(f"(e) {notified} notification(s) for the burst of {burst}", file=sys.stderr)
    await sender.close()
    # In AWS each notification is an SNS Publish after a GetEndpointAttributes (chat/notifiers.py).
    usage = Usage(costs.difference(done, start), burst).adding(
        {("sns", "sns", "Publish"): notified / burst, ("sns", "sns", "GetEndpointAttributes"): notified / burst}
    )
    floor = Floor(wru=1, messages_in=1, pushes=1 / burst)
    return [Row(f"(e) a burst of {burst} to a device with no socket", "message", usage, floor)]


def _notified(http_url: str, user: str) -> int:
    """How many notifications the stack's recording notifier holds for the user."""
    with urllib.request.urlopen(f"{http_url.rstrip('/')}/dev/notifications", timeout=30) as response:
        return sum(1 for n in json.loads(response.read())["notifications"] if n["userId"] == user)


async def reconnect_and_sync(
    stack: Stack, meter: Meter, sender: Device, away: Device, conversation: str, seen: int, gap: int
) -> list[Row]:
    print(f"(c) {away.user}/{away.device} goes away; {gap} messages; it comes back and syncs...", file=sys.stderr)
    before_close = await meter.quiet()
    await away.close()
    after_close = await meter.quiet()
    for n in range(gap):
        await sender.send(
            {"action": "send", "conversationId": conversation, "clientMsgId": f"g{n}", "body": {"text": f"gap {n}"}}
        )
        await sender.wait_for(is_("sent", clientMsgId=f"g{n}"))
    token = await asyncio.to_thread(_token, stack.http_url, away.user)  # the device keeps its token
    before_open = await meter.quiet()
    device = await Device.open(stack.ws_url, stack.http_url, away.user, away.device, token)
    after_open = await meter.quiet()
    await device.send({"action": "sync", "cursors": {conversation: seen}})
    synced = await device.wait_for(is_("synced"))
    after_sync = await meter.quiet()
    got = len([f for f in device.frames if f.get("type") == "message" and f.get("seq", 0) > seen])
    print(f"(c) sync brought {got} messages, complete={synced.get('complete')}", file=sys.stderr)
    await device.close()
    reconnect = Usage(costs.difference(after_close, before_close)).plus(
        Usage(costs.difference(after_open, before_open))
    )
    return [
        Row(
            f"(c) sync after a gap of {gap} messages",
            "sync",
            Usage(costs.difference(after_sync, after_open)),
            Floor(messages_in=1, messages_out=1, rru=1),
        ),
        Row("(c) its disconnect + reconnect", "reconnect", reconnect, None),
    ]


async def group_message(stack: Stack, meter: Meter, members: int) -> list[Row]:
    users = [user_id() for _ in range(members)]
    print(f"(b) connecting {members} members...", file=sys.stderr)
    devices: list[Device] = []
    for first in range(0, members, 20):
        devices += await asyncio.gather(
            *(Device.open(stack.ws_url, stack.http_url, user, "phone") for user in users[first : first + 20])
        )
    owner, others = devices[0], devices[1:]
    await owner.send({"action": "createGroup", "name": "bench", "members": users[1:]})
    group = await owner.wait_for(is_("group", change="created"))
    conversation = group["conversationId"]

    async def message(n: int) -> int:
        await owner.send(
            {"action": "send", "conversationId": conversation, "clientMsgId": f"b{n}", "body": {"text": f"hi {n}"}}
        )
        seq: int = (await owner.wait_for(is_("sent", clientMsgId=f"b{n}")))["seq"]
        await asyncio.gather(*(d.wait_for(is_("message", conversationId=conversation, seq=seq)) for d in others))
        return seq

    async def acks(seq: int) -> None:
        await asyncio.gather(
            *(d.send({"action": "delivered", "conversationId": conversation, "seq": seq}) for d in others)
        )
        await owner.wait_for(is_("receipt", conversationId=conversation, userId="*", kind="delivered", seq=seq))

    print("(b) warming up: a first message, and every member's delivered ack...", file=sys.stderr)
    await acks(await message(0))
    start = await meter.quiet()
    print(f"(b) a message to {members} members...", file=sys.stderr)
    seq = await message(1)
    sent = await meter.quiet()
    print(f"(b) {members - 1} delivered acks...", file=sys.stderr)
    await acks(seq)
    acked = await meter.quiet()
    await asyncio.gather(*(d.close() for d in devices))
    fan_out = Usage(costs.difference(sent, start))
    acking = Usage(costs.difference(acked, sent))
    recipients = members - 1
    send_floor = Floor(wru=1, messages_in=1, messages_out=recipients)
    ack_floor = Floor(messages_in=recipients, messages_out=recipients)
    return [
        Row(f"(b) group of {members}: send + fan-out", "group message", fan_out, send_floor),
        Row(f"(b) group of {members}: {recipients} delivered acks", "group message", acking, ack_floor),
        Row(f"(b) group of {members}: both", "group message", fan_out.plus(acking), send_floor.plus(ack_floor)),
    ]


# ---- the report -------------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def table(rows: Iterable[Row]) -> str:
    head = (
        "| path | per | DynamoDB requests | RRU | WRU | messages in | replies | POSTs | Lambda invocations "
        "| GB-s (local) | $ per million | floor $ per million | ratio |"
    )
    lines = [head, "|" + "---|" * 13]
    for row in rows:
        u = row.usage
        per_million = u.cost() * 1e6
        floor = row.floor.cost() * 1e6 if row.floor else None
        name = f"&nbsp;&nbsp;{row.name}" if row.detail else f"**{row.name}**"
        lines.append(
            f"| {name} | {row.per} | {_n(u.dynamodb_requests)} | {_n(u.rru)} | {_n(u.wru)} | {_n(u.messages_in)} "
            f"| {_n(u.replies)} | {_n(u.posts)} | {_n(u.invocations)} | {u.gb_s:.3f} | {per_million:,.2f} "
            f"| {'' if floor is None else f'{floor:,.2f}'} "
            f"| {'' if not floor else f'{per_million / floor:.2f}x'} |"
        )
    return "\n".join(lines)


def split(rows: Iterable[Row]) -> str:
    """Where each total's dollars go."""
    lines = []
    for row in rows:
        if row.detail:
            continue
        parts = row.usage.dollars()
        total = sum(parts.values()) or 1
        shares = ", ".join(f"{k} {v * 1e6:,.2f} ({v / total:.0%})" for k, v in parts.items() if v)
        lines.append(f"- {row.name}: {shares}")
    return "\n".join(lines)


def breakdown(row: Row, top: int = 12) -> str:
    """The costliest items of one path: DynamoDB units by function, operation and table; messages by function."""
    u = row.usage
    items: list[tuple[float, str]] = []
    for (function, operation, table_), units in costs.by(u.counters, "wru", 1, 2, 3).items():
        items.append((dollars("wru", units / u.times), f"{function} {operation} {table_}: {_n(units / u.times)} WRU"))
    for (function, operation, table_), units in costs.by(u.counters, "rru", 1, 2, 3).items():
        items.append((dollars("rru", units / u.times), f"{function} {operation} {table_}: {_n(units / u.times)} RRU"))
    for (function, kind), units in costs.by(u.counters, "messages_out", 1, 2).items():
        what = "POSTs" if kind == "post" else "route replies"
        items.append((dollars("message", units / u.times), f"{function} {what}: {_n(units / u.times)} messages"))
    for (route,), units in costs.by(u.counters, "messages_in", 1).items():
        items.append((dollars("message", units / u.times), f"frames in to {route}: {_n(units / u.times)} messages"))
    for (function,), count in costs.by(u.counters, "invocations", 1).items():
        gb_s = costs.by(u.counters, "gb_s", 1).get((function,), 0.0)
        cost = dollars("invocation", count / u.times) + dollars("gb_s", gb_s / u.times)
        items.append((cost, f"{function} Lambda: {_n(count / u.times)} invocations, {gb_s / u.times:.4f} GB-s"))
    items.sort(reverse=True)
    lines = [f"{row.name} (per {row.per}; $ per million):"]
    lines += [f"  {cost * 1e6:9,.2f}  {text}" for cost, text in items[:top] if cost > 0]
    return "\n".join(lines)


def moto_comparison(rows: Iterable[Row]) -> str:
    lines = []
    for row in rows:
        if row.detail:
            continue
        reported = row.usage.total("moto_units")
        lines.append(
            f"- {row.name}: computed {_n(row.usage.rru)} RRU + {_n(row.usage.wru)} WRU; moto said {_n(reported)}"
        )
    return "\n".join(lines)


def prices() -> str:
    lines = [f"Prices (us-east-1 list prices, free tiers left out; checked {CHECKED}):"]
    for price in PRICES.values():
        per = "per million" if price.per == 1e6 else "each" if price.per == 1 else f"per {price.per:g}"
        lines.append(f"- ${price.dollars:g} {per}: {price.unit} ({price.source})")
    return "\n".join(lines)


async def bench(stack: Stack, args: argparse.Namespace) -> list[Row]:
    meter = Meter(stack)
    rows = await direct_message(stack, meter, args.messages, args.gap)
    if args.burst > 0:
        rows += await push_burst(stack, meter, args.burst)
    if args.members > 1:
        rows += await group_message(stack, meter, args.members)
    return rows


def report(rows: list[Row]) -> str:
    free = sum(r.usage.stream_reads for r in rows if not r.detail)
    return "\n\n".join(
        [
            table(rows),
            "Where the dollars go ($ per million):\n" + split(rows),
            "\n\n".join(breakdown(r) for r in rows if not r.detail),
            "DynamoDB units, computed from item sizes vs what moto reports:\n" + moto_comparison(rows),
            prices(),
            NOTES.format(free=free, sqs=sum(r.usage.sqs_requests for r in rows if not r.detail)),
        ]
    )


NOTES = """Notes:
- Floors: 1 WRU to store a message, 1 message in per frame a client must send (the send, each ack), 1 POST
  per recipient device and 1 POST per receipt; for a sync, 1 frame in, 1 frame out and 1 RRU (the gap and
  the user's conversations, eventually consistent). Route replies (`sent`, `synced`) are not in the floor.
- GB-s are the handlers' wall time on this machine (every function, moto and the gateway in one Python
  process), an approximation: where many invocations run at once (a group's acks) they wait on each other.
- Not per message: connection minutes ($0.25 per million, $15 per million connection-hours) and the pings
  that keep a connection's lease (README, "Cost of the main paths").
- Stream reads (GetRecords by the stream functions' mappings) are free: {free:,.0f} in these paths, the
  local poller's count, not Lambda's. SQS requests (the mappings' on-failure queues): {sqs:,.0f}."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running stack's WebSocket URL, started with LOCAL_COST_METER=1")
    parser.add_argument("--messages", type=int, default=5, help="1:1 messages measured (after one warm-up)")
    parser.add_argument("--members", type=int, default=500, help="group size (1: no group)")
    parser.add_argument("--gap", type=int, default=3, help="messages a device misses before it syncs")
    parser.add_argument("--burst", type=int, default=10, help="messages to a device with no socket (0: none)")
    parser.add_argument("--json", type=Path, help="write every path's counters there")
    args = parser.parse_args()
    started = time.monotonic()
    if args.url:
        rows = asyncio.run(bench(RunningStack(args.url), args))
    else:
        print("starting a local stack with the cost meter on...", file=sys.stderr)
        env = {
            costs.ENV_COST_METER: "1",
            "LOCAL_SCHEDULE_SCALE": "100000",  # the minutely sweep falls in no path
            "CHAT_RATE_LIMITS": "",  # the declared limits (their writes are part of the cost)
        }
        with LocalStackProcess(env=env) as stack:
            rows = asyncio.run(bench(stack, args))
    print(report(rows))
    print(f"\n(measured in {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                [{"path": r.name, "per": r.per, "times": r.usage.times, "counters": r.usage.counters} for r in rows],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
