"""Fan-out time for one message to N devices, against a fake @connections API that sleeps per POST.

    .venv/bin/python scripts/bench_fanout.py [--devices 500] [--post-ms 20] [--runs 5]

Runs the real fan-out code against moto in-process; prints the figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
from chat.config import default_table_environment

for _name, _value in default_table_environment().items():
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chat import fanout, push  # noqa: E402
from chat.domain import Caller  # noqa: E402
from chat.messages import send_message  # noqa: E402
from chat.store import messages, users  # noqa: E402
from chat.store.connections import save_connection  # noqa: E402
from local.schema import create_tables  # noqa: E402


class SleepyPoster:
    def __init__(self, post_s: float) -> None:
        self.post_s = post_s
        self.posts = 0

    def post(self, connection_id: str, data: bytes) -> None:
        time.sleep(self.post_s)
        self.posts += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--post-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        users.ensure_user("alice", "2026-01-01T00:00:00.000Z")
        users.ensure_user("bob", "2026-01-01T00:00:00.000Z")
        for i in range(args.devices):
            save_connection("bob", f"conn-{i}", f"device-{i}", "2026-01-01T00:00:00.000Z", int(time.time()) + 600)
        alice = Caller("alice", "phone", "alice-conn")
        sent = send_message(alice, None, "bob", uuid.uuid4().hex, "warm-up")
        timings = []
        for _ in range(args.runs):
            assert sent is not None  # one sender: never queued
            sent = send_message(alice, sent.conversation_id, None, uuid.uuid4().hex, "hello")
            assert sent is not None
            message = messages.messages_after(sent.conversation_id, sent.seq - 1)[0]
            poster = SleepyPoster(args.post_ms / 1000)
            start = time.perf_counter()
            fanout.fan_out(message, poster=poster)
            timings.append(time.perf_counter() - start)
            assert poster.posts == args.devices
    sequential = args.devices * args.post_ms / 1000
    print(
        f"fan-out of one message to {args.devices} devices, {args.post_ms:g} ms per POST, "
        f"pool of {push.MAX_PARALLEL_POSTS}, {args.runs} runs (moto in-process for the lookups)"
    )
    print(
        f"  median {statistics.median(timings) * 1000:.0f} ms, min {min(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms (sequential POSTs would take {sequential * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
