"""Messages per second through one fan-out invocation: a stream batch of messages in as many
conversations, each to a few devices, against a fake @connections API that sleeps per POST.

    .venv/bin/python scripts/bench_stream_throughput.py [--conversations 100] [--devices 5] [--post-ms 20] [--runs 5]

Runs the topology's `fanout` handler (the stream adapter and the real fan-out code) on a batch
read from moto's Messages stream, in-process (moto serves one request at a time, as the tests
run it), three ways, taking turns: the same adapter one record at a time (what the handler did
before conversations ran side by side), the handler as it is, and the handler as it is with POSTs
answered at once (what is left is moto's and the code's CPU time, which bounds the second figure
here; in AWS the DynamoDB reads wait on the network instead). Prints the figures; asserts nothing
but that every device got its message.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Chat",
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
from chat.config import default_table_environment
from chat.topology import CONNECTION_LEASE_S, ENV_CONNECTION_LEASE_S

for _name, _value in default_table_environment().items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault(ENV_CONNECTION_LEASE_S, str(CONNECTION_LEASE_S))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chat import push, streams  # noqa: E402
from chat.changes.messages import message_changed  # noqa: E402
from chat.concurrency import ContextPool  # noqa: E402
from chat.domain import Caller  # noqa: E402
from chat.messages import send_message  # noqa: E402
from chat.store import users  # noqa: E402
from chat.store.connections import save_connection  # noqa: E402
from chat.streams import ordered_stream_handler  # noqa: E402
from local import moto_patches  # noqa: E402
from local.lambdas import LambdaContext, load_handler  # noqa: E402
from local.schema import create_tables  # noqa: E402
from local.streams import StreamReader  # noqa: E402

CONNECTED_AT = "2026-01-01T00:00:00.000Z"


class SleepyPoster:
    def __init__(self, post_s: float) -> None:
        self.post_s = post_s
        self.posts = 0
        self._lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        time.sleep(self.post_s)
        with self._lock:
            self.posts += 1


def batch_of_messages(conversations: int, devices: int) -> dict[str, Any]:
    """One message in each of `conversations` direct chats of alice's, each peer on `devices` devices:
    the Messages stream's records as the fanout function receives them."""
    users.ensure_user("alice", CONNECTED_AT)
    alice = Caller("alice", "phone", "alice-conn")  # her only connection: the sending one gets no post
    expires = int(time.time()) + 3600
    for c in range(conversations):
        peer = f"peer{c:03d}"
        users.ensure_user(peer, CONNECTED_AT)
        for d in range(devices):
            save_connection(peer, f"{peer}-conn-{d}", f"device-{d}", CONNECTED_AT, expires)
        send_message(alice, None, peer, uuid.uuid4().hex, f"hello {peer}")
    event = StreamReader.of_table("Messages").event()
    assert len(event["Records"]) == conversations, len(event["Records"])
    return event


def timed(handler: Any, event: dict[str, Any], post_ms: float, expected_posts: int) -> float:
    poster = SleepyPoster(post_ms / 1000)
    push.default_poster = lambda: poster  # type: ignore[assignment,misc]
    start = time.perf_counter()
    result = handler(event, LambdaContext.of("fanout"))
    elapsed = time.perf_counter() - start
    assert result == {"batchItemFailures": []}, result
    assert poster.posts == expected_posts, poster.posts
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--post-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # The handler as it was (one record after another) is the same adapter with one key at a time.
    ways = {
        "one record at a time (as before)": (
            ordered_stream_handler(message_changed, "conversationId", ContextPool(1, "bench")),
            args.post_ms,
        ),
        f"up to {streams.MAX_PARALLEL_KEYS} conversations at once": (load_handler("fanout"), args.post_ms),
        "the same, POSTs answered at once (what moto and the code cost)": (load_handler("fanout"), 0.0),
    }
    timings: dict[str, list[float]] = {way: [] for way in ways}
    moto_patches.apply()
    # Powertools writes a metric's EMF line once it holds 100 values, disabled or not: not here.
    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        event = batch_of_messages(args.conversations, args.devices)
        for _ in range(args.runs):  # the ways take turns, so a busy moment slows them alike
            for way, (handler, post_ms) in ways.items():
                timings[way].append(timed(handler, event, post_ms, args.conversations * args.devices))
    moto_patches.restore()
    print(
        f"one fanout invocation: {args.conversations} messages in {args.conversations} conversations, "
        f"{args.devices} devices each, {args.post_ms:g} ms per POST, median of {args.runs} runs (moto in-process)"
    )
    for way, runs in timings.items():
        median = statistics.median(runs)
        print(
            f"  {way}: {median * 1000:.0f} ms, {args.conversations / median:.0f} messages/s "
            f"(min {min(runs) * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
