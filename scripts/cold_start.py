"""How long each function's handler takes to import, against `import boto3` alone.

    .venv/bin/python scripts/cold_start.py [--runs 9]
    .venv/bin/python scripts/cold_start.py --first-call [--runs 5]

A Lambda cold start imports the handler module (and builds what it builds at import) before the
first invocation; boto3 is the floor every function pays. Each import runs in a fresh interpreter
(`python -I -c "import ..."`, timed inside the child around the import). The runs go round-robin
(boto3, every function, boto3 again, ...) so a change in the machine's load hits all of them alike,
and the best run of each counts. The ratio is of CPU time (`time.process_time`), which another
process's load disturbs far less than wall time; wall time is printed beside it.

`--first-call` measures what the first invocation costs beyond a warm one (what an import left for
later: models built on first use, AWS clients and their service models), for the functions an event
is easy to make for, against moto in the same process. moto and the local stack's helpers import
boto3 and more before the handler, so this mode reports no import time: the first mode does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat.config import default_table_environment  # noqa: E402
from chat.topology import CONNECTION_LEASE_S, ENV_CONNECTION_LEASE_S, FUNCTIONS  # noqa: E402

IMPORT_PROBE = """
import json, sys, time
sys.path.insert(0, {root!r})
wall, cpu = time.perf_counter(), time.process_time()
import {module}
print(json.dumps([(time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000]))
"""

# One function's handler against moto: the import, then two invocations with like events (the second
# is a warm one). Prints CPU milliseconds of each.
FIRST_CALL_PROBE = """
import json, os, sys, time
sys.path.insert(0, {root!r})
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
import boto3
from moto import mock_aws
from local import moto_patches
from local.events import LOCAL_API, authorized_connection, connect_event, disconnect_event, message_event
from local.events import post_confirmation_event
from local.lambdas import LambdaContext
from local.schema import create_tables

def frame(route, body):
    return lambda n: message_event(LOCAL_API, authorized_connection("alice", f"d{{n}}"), route, json.dumps(body(n)))

def message_record(n):
    image = {{"conversationId": {{"S": "c1"}}, "seq": {{"N": str(n)}}, "senderId": {{"S": "alice"}},
             "senderDeviceId": {{"S": "d"}}, "senderConnectionId": {{"S": "x"}}, "clientMsgId": {{"S": f"m{{n}}"}},
             "body": {{"M": {{"text": {{"S": "hi"}}}}}}, "sentAt": {{"S": "2026-01-01T00:00:00.000Z"}}}}
    keys = {{"conversationId": image["conversationId"], "seq": image["seq"]}}
    change = {{"Keys": keys, "NewImage": image, "SequenceNumber": str(n)}}
    return {{"Records": [{{"eventName": "INSERT", "dynamodb": change}}]}}

EVENTS = {{
    "signup": lambda n: post_confirmation_event(LOCAL_API, f"user{{n}}"),
    "connect": lambda n: connect_event(LOCAL_API, authorized_connection("alice", f"d{{n}}")),
    "disconnect": lambda n: disconnect_event(LOCAL_API, authorized_connection("alice", f"d{{n}}"), 1000, "bye"),
    "default": frame("$default", lambda n: {{"action": "nope"}}),
    "send": frame(
        "send", lambda n: {{"action": "send", "to": "bob", "clientMsgId": f"m{{n}}", "body": {{"text": "hi"}}}}
    ),
    "sync": frame("sync", lambda n: {{"action": "sync"}}),
    "fanout": message_record,
}}

moto_patches.apply()
with mock_aws():
    # A session of its own: boto3's default one (and its loaded data) is left for the handler to create.
    client = boto3.session.Session().client("dynamodb", region_name="us-east-1")
    create_tables(client)
    for user in ("alice", "bob"):
        item = {{"userId": {{"S": user}}, "createdAt": {{"S": "2026-01-01T00:00:00.000Z"}}}}
        client.put_item(TableName="chat-Users", Item=item)
    cpu = time.process_time()
    import {module} as handler_module
    times = [(time.process_time() - cpu) * 1000]
    for n in (1, 2):
        event = EVENTS[{function!r}](n)
        cpu = time.process_time()
        reply = handler_module.handler(event, LambdaContext.of({function!r}))
        times.append((time.process_time() - cpu) * 1000)
    print(json.dumps(times))
"""
FIRST_CALL_FUNCTIONS = ("signup", "connect", "disconnect", "default", "send", "sync", "fanout")


def environment() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "WEBSOCKET_CALLBACK_URL": "https://example.execute-api.us-east-1.amazonaws.com/prod",
        ENV_CONNECTION_LEASE_S: str(CONNECTION_LEASE_S),
        # Powertools writes the EMF lines and logs to stdout; only the probe's line is read.
        "POWERTOOLS_METRICS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
        **default_table_environment(),
    }


def probe(code: str) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, env=environment(), check=True
    )
    times: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return times


def best_by_name(probes: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Each probe `runs` times, round-robin; per probe, the element-wise best of its runs."""
    best: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, code in probes.items():
            times = probe(code)
            best[name] = [min(pair) for pair in zip(best.get(name, times), times, strict=True)]
    return best


def import_times(runs: int) -> None:
    modules = {"boto3": "boto3"} | {name: spec.handler.rpartition(".")[0] for name, spec in FUNCTIONS.items()}
    best = best_by_name({name: IMPORT_PROBE.format(root=str(ROOT), module=m) for name, m in modules.items()}, runs)
    floor = best["boto3"][1]
    print(f"{'':<14} {'CPU ms':>7} {'ratio':>6} {'wall ms':>8}")
    worst = 0.0
    for name, (wall, cpu) in best.items():
        worst = max(worst, cpu / floor)
        print(f"{name:<14} {cpu:7.1f} {cpu / floor:5.2f}x {wall:8.1f}")
    print(f"worst ratio {worst:.2f}x (CPU time, best of {runs} runs each)")


def first_call_times(runs: int) -> None:
    probes = {
        name: FIRST_CALL_PROBE.format(root=str(ROOT), module=FUNCTIONS[name].handler.rpartition(".")[0], function=name)
        for name in FIRST_CALL_FUNCTIONS
    }
    print(f"{'':<14} {'first call':>10} {'warm call':>9} {'first - warm':>12}  (CPU ms, against moto)")
    for name, (_, first, warm) in best_by_name(probes, runs).items():
        print(f"{name:<14} {first:10.1f} {warm:9.1f} {first - warm:12.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=None, help="runs of each probe (default 9; --first-call 5)")
    parser.add_argument("--first-call", action="store_true", help="the first invocation against moto, not the import")
    args = parser.parse_args(argv)
    if args.first_call:
        first_call_times(args.runs or 5)
    else:
        import_times(args.runs or 9)
    return 0


if __name__ == "__main__":
    sys.exit(main())
