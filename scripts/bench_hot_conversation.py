"""A hot conversation: 30 sends into one conversation at once against 30 one after another, on one
local stack, in the same run.

    .venv/bin/python scripts/bench_hot_conversation.py [--senders 30] [--rounds 3]

Starts a local stack of its own with the cost meter on (LOCAL_COST_METER=1, `local/costs.py`) and rate
limits off. A group of `--senders` members, one device each, all connected. Each round:

  (a) one after another: each member sends, and the next sends once its `sent` came;
  (b) at once: every member sends at the same moment; done when every `sent` came.

Between the two it waits for the conversation to stop being busy (chat/messages.py BUSY_FOR_S), so
(a) measures the direct path. Prints, per round and in all: the time from the first send to the last
`sent` of each, their ratio (goal: at most 1.5), and the requests per send of the send path (the
`send` and `sequence` functions: DynamoDB requests, of which transactions, and SQS requests), counted
between snapshots taken once the stack is quiet. The fan-out of each message to every member runs
meanwhile, as it would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chat.messages' models read it at import

from bench_cost import Device, Meter, is_, user_id

from chat.messages import BUSY_FOR_S
from local import costs
from local.process import LocalStackProcess

SEND_PATH = ("send", "sequence")


def send_frame(conversation_id: str) -> dict[str, object]:
    return {
        "action": "send",
        "conversationId": conversation_id,
        "clientMsgId": uuid.uuid4().hex,
        "body": {"text": "hot"},
    }


def per_send(counters: dict[str, float], sends: int) -> dict[str, float]:
    def requests(service: str, operation: str | None = None) -> float:
        return costs.totals(
            counters,
            "request",
            lambda p: p[0] in SEND_PATH and p[1] == service and (operation is None or p[2] == operation),
        )

    return {
        "dynamodb": requests("dynamodb") / sends,
        "transactions": requests("dynamodb", "TransactWriteItems") / sends,
        "sqs": requests("sqs") / sends,
    }


async def one_after_another(devices: list[Device], conversation_id: str) -> float:
    started = time.monotonic()
    for device in devices:
        frame = send_frame(conversation_id)
        await device.send(frame)
        await device.wait_for(is_("sent", clientMsgId=frame["clientMsgId"]))
    return time.monotonic() - started


async def at_once(devices: list[Device], conversation_id: str) -> float:
    frames = [send_frame(conversation_id) for _ in devices]
    started = time.monotonic()
    await asyncio.gather(*(d.send(f) for d, f in zip(devices, frames, strict=True)))
    await asyncio.gather(
        *(d.wait_for(is_("sent", clientMsgId=f["clientMsgId"])) for d, f in zip(devices, frames, strict=True))
    )
    return time.monotonic() - started


async def bench(stack: LocalStackProcess, senders: int, rounds: int) -> None:
    meter = Meter(stack)
    users = [user_id() for _ in range(senders)]
    devices = [await Device.open(stack.ws_url, stack.http_url, user, "phone") for user in users]
    await devices[0].send({"action": "createGroup", "name": "hot", "members": users[1:], "requestId": "g"})
    created = await devices[0].wait_for(is_("group", requestId="g"))
    conversation_id = created["conversationId"]
    await one_after_another(devices[:1], conversation_id)  # warm: every function has run once

    results: dict[str, list[float]] = {"one after another": [], "at once": []}
    counted: dict[str, list[dict[str, float]]] = {"one after another": [], "at once": []}
    for round_ in range(1, rounds + 1):
        for name, run in (("one after another", one_after_another), ("at once", at_once)):
            await asyncio.sleep(BUSY_FOR_S + 1)  # the conversation is no longer busy
            before = await meter.quiet()
            elapsed = await run(devices, conversation_id)
            after = await meter.quiet()
            results[name].append(elapsed)
            counted[name].append(per_send(costs.difference(after, before), senders))
            figures = counted[name][-1]
            print(
                f"round {round_}: {name:<17} {elapsed:6.2f} s; per send: {figures['dynamodb']:.2f} DynamoDB requests "
                f"({figures['transactions']:.2f} transactions), {figures['sqs']:.2f} SQS requests",
                flush=True,
            )
    sequential, concurrent = (statistics.median(results[n]) for n in ("one after another", "at once"))
    print()
    print(f"{senders} sends into one conversation, median of {rounds} rounds:")
    for name in results:
        figures = {k: statistics.mean(c[k] for c in counted[name]) for k in ("dynamodb", "transactions", "sqs")}
        print(
            f"  {name:<17} {statistics.median(results[name]):6.2f} s; per send {figures['dynamodb']:.2f} DynamoDB "
            f"requests ({figures['transactions']:.2f} transactions), {figures['sqs']:.2f} SQS requests"
        )
    print(f"  ratio at once / one after another: {concurrent / sequential:.2f} (goal: <= 1.5)")
    for device in devices:
        await device.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {"LOCAL_COST_METER": "1", "CHAT_RATE_LIMITS": "off", "LOCAL_SCHEDULE_SCALE": "100000"}
    log_path = Path(__file__).resolve().parents[1] / "test-artifacts" / "local-stack-bench-hot.log"
    with LocalStackProcess(env=env, log_path=log_path) as stack:
        asyncio.run(bench(stack, args.senders, args.rounds))


if __name__ == "__main__":
    main()
