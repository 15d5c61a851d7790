"""What one `sync` costs in DynamoDB reads for a user in many conversations, when little changed.

    .venv/bin/python scripts/bench_sync.py [--directs 190] [--groups 10] [--group-size 50] [--changed 3]

Runs the real handlers against moto in-process, as the integration tests do (Lambda-shaped events, the
streams read and handed to their functions). One user is in `directs` direct chats and `groups` groups
(every conversation holds a few messages and read receipts); its device syncs everything once, then:

  (a) nothing changed: the same device syncs again, `gap-minutes` later;
  (b) `changed` conversations changed (a new message in each, read by its sender, one of them a group):
      it syncs again.

Each sync is counted by local/capacity_counter.py: read units as DynamoDB bills them (from the items
read; moto's own ConsumedCapacity, flat per request, in brackets) and requests. With `--legacy` the
device sends `cursors` only (an old client); by default it also sends `since` (docs/PROTOCOL.md).
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_METRICS_NAMESPACE="Chat",
    CHAT_RATE_LIMITS="off",
    POWERTOOLS_METRICS_DISABLED="true",
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
from chat.config import default_table_environment
from chat.topology import CONNECTION_LEASE_S, ENV_CONNECTION_LEASE_S, route_for

for _name, _value in default_table_environment().items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault(ENV_CONNECTION_LEASE_S, str(CONNECTION_LEASE_S))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chat import clock, push  # noqa: E402
from local import moto_patches  # noqa: E402
from local.capacity_counter import CapacityCounter, Cost  # noqa: E402
from local.events import (  # noqa: E402
    LOCAL_API,
    authorized_connection,
    connect_event,
    message_event,
    post_confirmation_event,
    select_route,
)
from local.iam import acting_as  # noqa: E402
from local.lambdas import LambdaContext, load_handler  # noqa: E402
from local.schema import create_tables  # noqa: E402
from local.streams import StreamReader  # noqa: E402


class Poster:
    """Stands in for @connections: keeps what each connection was sent."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}

    def post(self, connection_id: str, data: bytes) -> None:
        self.frames.setdefault(connection_id, []).append(json.loads(data))


def invoke(function: str, event: dict[str, Any]) -> Any:
    with acting_as(function):
        return load_handler(function)(event, LambdaContext.of(function))


class Device:
    def __init__(self, user_id: str, device_id: str = "phone") -> None:
        self.user_id = user_id
        self.connection = authorized_connection(user_id, device_id)
        invoke("signup", post_confirmation_event(LOCAL_API, user_id, "PostConfirmation_ConfirmSignUp"))
        assert invoke("connect", connect_event(LOCAL_API, self.connection)) == {"statusCode": 200}

    def do(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        body = json.dumps(frame)
        function = route_for(frame["action"]).function
        response = invoke(function, message_event(LOCAL_API, self.connection, select_route(body), body))
        return json.loads(response["body"]) if "body" in response else None

    def send(self, text: str, **target: str) -> dict[str, Any]:
        reply = self.do({"action": "send", "clientMsgId": uuid.uuid4().hex, "body": {"text": text}, **target})
        assert reply is not None and reply["type"] == "sent", reply
        return reply


class Streams:
    def __init__(self) -> None:
        self.readers = [StreamReader.of_table("Messages"), StreamReader.of_table("Receipts")]

    def settle(self) -> None:
        """Hands every stream record to its function until the streams are quiet."""
        while True:
            busy = False
            for reader in self.readers:
                records = reader.records()
                if records:
                    busy = True
                    result = invoke(reader.stream.function, {"Records": records})
                    assert result == {"batchItemFailures": []}, result
            if not busy:
                return


def build(directs: int, groups: int, group_size: int) -> tuple[Device, list[str], list[Device], Streams]:
    """`me` and its conversations: direct chats with `directs` partners and `groups` groups."""
    streams = Streams()
    me = Device("me")
    partners = [Device(f"p{i:03d}") for i in range(max(directs, group_size - 1))]
    conversations = []
    for i, partner in enumerate(partners[:directs]):
        conversation = partner.send("hello", to="me")["conversationId"]
        me.send("hi", conversationId=conversation)
        partner.send("how are you?", conversationId=conversation)
        me.do({"action": "read", "conversationId": conversation, "seq": 3})
        conversations.append(conversation)
        if i % 50 == 0:
            streams.settle()
    for g in range(groups):
        members = [p.user_id for p in partners[g : g + group_size - 1]]
        group = me.do({"action": "createGroup", "name": f"group {g}", "members": members})
        assert group is not None and group["type"] == "group", group
        for n in range(3):
            partners[g + n].send(f"group message {n}", conversationId=group["conversationId"])
        me.do({"action": "read", "conversationId": group["conversationId"], "seq": 3})
        conversations.append(group["conversationId"])
        streams.settle()
    streams.settle()
    return me, conversations, partners, streams


def sync(me: Device, poster: Poster, counter: CapacityCounter, cursors: dict[str, int], since: str | None) -> Any:
    """One `sync` call: (its reply, the messages it sent, what it cost)."""
    poster.frames.pop(me.connection.connection_id, None)
    counter.reset()
    frame: dict[str, Any] = {"action": "sync", "cursors": cursors}
    if since is not None:
        frame["since"] = since
    reply = me.do(frame)
    assert reply is not None and reply["type"] == "synced", reply
    sent = [f for f in poster.frames.get(me.connection.connection_id, []) if f["type"] == "message"]
    return reply, sent, counter.of("sync")


def catch_up(
    me: Device, poster: Poster, counter: CapacityCounter, cursors: dict[str, int], since: str | None, pages: int = 20
) -> tuple[str | None, list[Cost], bool]:
    """Syncs until `complete` (at most `pages` calls), moving the cursors: (the token, each call's cost, complete)."""
    costs = []
    for _ in range(pages):
        reply, sent, cost = sync(me, poster, counter, cursors, since)
        costs.append(cost)
        for message in sent:
            cursors[message["conversationId"]] = max(cursors.get(message["conversationId"], 0), message["seq"])
        for summary in reply["conversations"]:
            cursors.setdefault(summary["conversationId"], 0)
        since = reply.get("syncToken", since)
        if reply["complete"]:
            return since, costs, True
    return since, costs, False


def describe(label: str, reply: dict[str, Any], sent: list[Any], cost: Cost) -> str:
    requests = ", ".join(f"{op} {n}" for op, n in sorted(cost.requests.items()))
    return (
        f"  {label}: {cost.read_units:g} read units [moto: {cost.moto_read_units:g}], "
        f"{cost.items_written} items written; requests: {requests or 'none'}; "
        f"replied {len(reply['conversations'])} conversations, {len(sent)} messages, complete={reply['complete']}"
    )


class Later:
    """The clock of the change log and of sync tokens, moved forward: the device comes back after a gap."""

    def __init__(self) -> None:
        self.offset_ms = 0
        self.real = clock.epoch_ms
        clock.epoch_ms = lambda: self.real() + self.offset_ms  # type: ignore[assignment]

    def wait(self, minutes: float) -> None:
        self.offset_ms += int(minutes * 60_000)

    def restore(self) -> None:
        clock.epoch_ms = self.real  # type: ignore[assignment]


def run(args: argparse.Namespace) -> None:
    poster = Poster()
    push_default = push.default_poster
    push.default_poster = lambda: poster  # type: ignore[assignment]
    later = Later()
    moto_patches.apply()
    try:
        with mock_aws():
            create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            with contextlib.redirect_stdout(io.StringIO()):  # the functions' metric lines
                me, conversations, partners, streams = build(args.directs, args.groups, args.group_size)
            counter = CapacityCounter()
            since: str | None = None if args.legacy else ""
            with counter.installed():
                cursors: dict[str, int] = {}
                later.wait(args.gap_minutes)
                since, costs, complete = catch_up(me, poster, counter, cursors, since)
                total = sum(c.read_units for c in costs)
                print(
                    f"user in {len(conversations)} conversations ({args.directs} direct, {args.groups} groups of "
                    f"{args.group_size}); {'legacy client (cursors only)' if args.legacy else 'client sends since'}"
                )
                print(
                    f"  first sync of the device (no cursors): {len(costs)} calls, {total:g} read units"
                    + ("" if complete else f" (never complete after {len(costs)} calls)")
                )
                later.wait(args.gap_minutes)
                reply, sent, cost = sync(me, poster, counter, cursors, since)
                print(describe("(a) nothing changed", reply, sent, cost))
                since = reply.get("syncToken", since)
                changed = conversations[: args.changed - 1] + conversations[-1:]
                for conversation in changed:
                    index = conversations.index(conversation)
                    author = partners[index] if index < args.directs else partners[args.groups - 1]
                    author.send("news", conversationId=conversation)
                with contextlib.redirect_stdout(io.StringIO()):
                    streams.settle()
                later.wait(args.gap_minutes)
                reply, sent, cost = sync(me, poster, counter, cursors, since)
                print(describe(f"(b) {len(changed)} changed", reply, sent, cost))
    finally:
        later.restore()
        moto_patches.restore()
        push.default_poster = push_default  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--directs", type=int, default=190)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--group-size", type=int, default=50)
    parser.add_argument("--changed", type=int, default=3)
    parser.add_argument("--gap-minutes", type=float, default=10, help="how long the device is away before each sync")
    parser.add_argument("--legacy", action="store_true", help="send cursors only, as a client that knows no `since`")
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
