"""Message latency on the local stack: alice sends, one message at a time; we time bob's `message`.

    .venv/bin/python scripts/bench_latency.py                   # starts a local stack of its own
    .venv/bin/python scripts/bench_latency.py --url ws://127.0.0.1:8080/ws   # against `make dev`

Prints median, p99, mean and max in ms of send -> `sent` (stored) and send -> bob's `message`
(stored, streamed, fanned out, pushed). The local stack runs moto and every function in one Python
process, so these figures measure this machine and the code path, not AWS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect

from local.process import LocalStackProcess


def token(http_url: str, user: str) -> str:
    with urllib.request.urlopen(f"{http_url}/dev/token?{urllib.parse.urlencode({'userId': user})}") as response:
        return str(json.loads(response.read())["token"])


async def open_socket(ws_url: str, http_url: str, user: str, device: str) -> ClientConnection:
    query = urllib.parse.urlencode({"token": token(http_url, user), "deviceId": device})
    return await connect(f"{ws_url}?{query}", max_size=None)


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[math.ceil(0.99 * len(ordered)) - 1]
    return (
        f"{name:<22} n={len(ordered)}  median {statistics.median(ordered):7.1f}  p99 {p99:7.1f}  "
        f"mean {statistics.fmean(ordered):7.1f}  max {ordered[-1]:7.1f}  (ms)"
    )


async def bench(ws_url: str, http_url: str, count: int, warmup: int, pace_s: float) -> None:
    run = uuid.uuid4().hex[:6]
    alice, bob = f"alice-{run}", f"bob-{run}"
    sender = await open_socket(ws_url, http_url, alice, "phone")
    receiver = await open_socket(ws_url, http_url, bob, "phone")
    sent_at: dict[str, float] = {}
    arrived: dict[str, float] = {}
    stored: dict[str, float] = {}
    events: dict[str, asyncio.Event] = {}

    async def read(ws: ClientConnection, kind: str, into: dict[str, float]) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == kind and frame.get("clientMsgId") in events:
                into.setdefault(frame["clientMsgId"], time.perf_counter())
                if frame["clientMsgId"] in arrived and frame["clientMsgId"] in stored:
                    events[frame["clientMsgId"]].set()
            elif frame.get("type") == "error":
                print("error frame:", frame, file=sys.stderr)

    readers = [
        asyncio.create_task(read(receiver, "message", arrived)),
        asyncio.create_task(read(sender, "sent", stored)),
    ]
    print(f"warming up ({warmup} messages), then {count} messages, one at a time...", file=sys.stderr)
    for n in range(warmup + count):
        client_msg_id = f"{'w' if n < warmup else 'm'}{n}"
        events[client_msg_id] = asyncio.Event()
        frame = {"action": "send", "to": bob, "clientMsgId": client_msg_id, "body": {"text": f"message {n}"}}
        sent_at[client_msg_id] = time.perf_counter()
        await sender.send(json.dumps(frame))
        await asyncio.wait_for(events[client_msg_id].wait(), timeout=60)
        if pace_s:
            await asyncio.sleep(pace_s)
    for task in readers:
        task.cancel()
    await sender.close()
    await receiver.close()

    measured = [k for k in sent_at if k.startswith("m")]
    print(summary("send -> sent", [(stored[k] - sent_at[k]) * 1000 for k in measured]))
    print(summary("send -> bob's message", [(arrived[k] - sent_at[k]) * 1000 for k in measured]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running stack's WebSocket URL (default: start one)")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--pace-ms", type=float, default=0.0, help="pause between messages")
    args = parser.parse_args()
    if args.url:
        parts = urllib.parse.urlsplit(args.url)
        http_url = f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"
        asyncio.run(bench(args.url, http_url, args.messages, args.warmup, args.pace_ms / 1000))
        return 0
    print("starting a local stack...", file=sys.stderr)
    with LocalStackProcess() as stack:
        asyncio.run(bench(stack.ws_url, stack.http_url, args.messages, args.warmup, args.pace_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
