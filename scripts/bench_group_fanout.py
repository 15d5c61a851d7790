"""One message to every device of a 500-member group on the local stack, with a slow @connections API.

    .venv/bin/python scripts/bench_group_fanout.py [--members 500] [--post-ms 20] [--messages 5]

Starts a local stack whose management API waits --post-ms before each POST (as a far-away API
Gateway would), connects one device per member, creates the group and times send -> the last
member's device receiving the `message`. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import urllib.parse

from websockets.asyncio.client import ClientConnection, connect

from local.process import LocalStackProcess
from scripts.bench_latency import token


async def open_socket(ws_url: str, http_url: str, user: str, device: str) -> ClientConnection:
    query = urllib.parse.urlencode({"token": token(http_url, user), "deviceId": device})
    return await connect(f"{ws_url}?{query}", max_size=None, open_timeout=120)


async def frames_of(ws: ClientConnection, kind: str, sink: asyncio.Queue[tuple[float, dict]]) -> None:  # type: ignore[type-arg]
    async for raw in ws:
        frame = json.loads(raw)
        if frame.get("type") == kind:
            await sink.put((time.perf_counter(), frame))


async def bench(ws_url: str, http_url: str, members: int, messages: int) -> list[float]:
    run = uuid.uuid4().hex[:6]
    users = [f"m{i:03d}-{run}" for i in range(members)]
    sockets: list[ClientConnection] = []
    for start in range(0, members, 20):
        batch = users[start : start + 20]
        sockets += await asyncio.gather(*(open_socket(ws_url, http_url, u, "phone") for u in batch))
    owner, others = sockets[0], sockets[1:]
    await owner.send(json.dumps({"action": "createGroup", "name": "bench", "members": users[1:]}))
    group = json.loads(await owner.recv())
    assert group.get("type") == "group", group
    arrivals: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()  # type: ignore[type-arg]
    readers = [asyncio.create_task(frames_of(ws, "message", arrivals)) for ws in others]
    timings = []
    for n in range(messages):
        started = time.perf_counter()
        await owner.send(
            json.dumps(
                {
                    "action": "send",
                    "conversationId": group["conversationId"],
                    "clientMsgId": f"b{n}",
                    "body": {"text": f"hello {n}"},
                }
            )
        )
        last = started
        for _ in others:
            at, _frame = await asyncio.wait_for(arrivals.get(), timeout=120)
            last = max(last, at)
        timings.append((last - started) * 1000)
        print(f"  message {n + 1}: all {len(others)} devices in {timings[-1]:.0f} ms", file=sys.stderr)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets))
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--post-ms", type=float, default=20.0)
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    print(f"starting a local stack with {args.post_ms:g} ms per @connections POST...", file=sys.stderr)
    with LocalStackProcess(env={"LOCAL_POST_DELAY_MS": str(args.post_ms)}) as stack:
        timings = asyncio.run(bench(stack.ws_url, stack.http_url, args.members, args.messages))
    print(
        f"group of {args.members} members (one device each), {args.post_ms:g} ms per POST, "
        f"{args.messages} messages: send -> last device has it: median {statistics.median(timings):.0f} ms, "
        f"min {min(timings):.0f} ms, max {max(timings):.0f} ms "
        f"(sequential POSTs alone would take {(args.members - 1) * args.post_ms:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
