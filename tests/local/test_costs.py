"""The cost meter (local/costs.py, local/capacity.py) and scripts/bench_cost.py's arithmetic: a known
sequence of calls gives known counts and units, so the instrument cannot silently drift."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.asyncio.client import connect

from chat.topology import FUNCTIONS, TABLES, Index, Key, Table
from local import aws_calls, capacity, costs
from local.gateway import Gateway, GatewayConfig
from local.iam import acting_as
from local.lambdas import Functions
from local.moto_server import MotoServer
from local.schema import create_table_request
from scripts import bench_cost

KB = 1024


# ---- item sizes and units, as DynamoDB's documentation counts them ---------------------------------------


def test_item_sizes_count_names_and_values() -> None:
    assert capacity.item_size({"id": {"S": "abc"}}) == 2 + 3
    assert capacity.item_size({"név": {"S": "é"}}) == 4 + 2  # UTF-8 bytes
    assert capacity.item_size({"b": {"B": b"\x00\x01\x02"}}) == 1 + 3
    assert capacity.item_size({"t": {"BOOL": True}, "n": {"NULL": True}}) == 2 + 2
    # Numbers: 1 byte per two significant digits, plus 1; leading and trailing zeros do not count.
    assert capacity.item_size({"n": {"N": "12345"}}) == 1 + 4
    assert capacity.number_size("1200000") == 2
    assert capacity.number_size("0.0012") == 2
    assert capacity.number_size("0") == 2
    # Lists and maps: 3 bytes, plus 1 per element (a map element's name counts too).
    assert capacity.item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert capacity.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert capacity.item_size({"s": {"SS": ["a", "bc"]}}) == 1 + 3
    assert capacity.item_size(None) == 0


def test_read_and_write_units() -> None:
    assert capacity.read_units(0, consistent=True) == 1  # nothing found still costs the minimum
    assert capacity.read_units(0, consistent=False) == 0.5
    assert capacity.read_units(4 * KB, consistent=True) == 1
    assert capacity.read_units(4 * KB + 1, consistent=True) == 2
    assert capacity.read_units(8 * KB, consistent=False) == 1
    assert capacity.read_units(100, consistent=True, transactional=True) == 2
    assert capacity.write_units(0) == 1
    assert capacity.write_units(KB) == 1
    assert capacity.write_units(KB + 1) == 2
    assert capacity.write_units(3 * KB, transactional=True) == 6


_TABLE = Table(
    "T",
    "T_TABLE",
    Key("pk"),
    Key("sk"),
    indexes=(
        Index("all", Key("gpk"), Key("gsk", "N")),
        Index("keys", Key("kpk"), projection="KEYS_ONLY"),
    ),
)


def _units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, float]]:
    return [(w.index, w.units) for w in capacity.index_writes(_TABLE, before, after)]


def test_index_writes_follow_the_entry() -> None:
    base = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    in_both = {**base, "gpk": {"S": "g"}, "gsk": {"N": "1"}, "kpk": {"S": "k"}, "x": {"S": "1"}}
    # A new item: one write per index it is in; an item without an index's keys is not in it.
    assert _units(None, in_both) == [("all", 1), ("keys", 1)]
    assert _units(None, {**base, "x": {"S": "1"}}) == []
    # A projected attribute changes: one write in the ALL index, none in the KEYS_ONLY one.
    assert _units(in_both, {**in_both, "x": {"S": "2"}}) == [("all", 1)]
    # The index's key changes: a delete and a put.
    assert _units(in_both, {**in_both, "gsk": {"N": "2"}}) == [("all", 1), ("all", 1)]
    assert _units(in_both, {**in_both, "kpk": {"S": "k2"}}) == [("all", 1), ("keys", 1), ("keys", 1)]
    # Nothing changes: no index write. Deleted: one per index.
    assert _units(in_both, dict(in_both)) == []
    assert _units(in_both, None) == [("all", 1), ("keys", 1)]
    # A large entry costs its size.
    big = {**in_both, "x": {"S": "y" * 3000}}
    assert _units(None, big) == [("all", 3), ("keys", 1)]


# ---- the meter on real requests (moto, in this process) ----------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def meter() -> Iterator[costs.Meter]:
    meter = costs.start()
    assert aws_calls.installed().index(costs.INTERCEPTOR) == aws_calls.installed().index("iam") + 1
    yield meter
    costs.stop()


@pytest.fixture
def tables(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fresh Members, Connections and Conversations tables (with their indexes) under unique names."""
    client = boto3.client("dynamodb", endpoint_url=moto.endpoint, region_name="us-east-1")
    names = {}
    for logical in ("Members", "Connections", "Conversations"):
        name = names[logical] = f"t-{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(TABLES[logical].env, name)
        client.create_table(**create_table_request(TABLES[logical]))
    return names


def counted(meter: costs.Meter, metric: str, *parts: str) -> float:
    return meter.snapshot()["counters"].get(costs.counter(metric, *parts), 0.0)


def test_dynamodb_requests_are_counted_in_units_from_item_sizes(
    moto: MotoServer, tables: dict[str, str], meter: costs.Meter
) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto.endpoint, region_name="us-east-1")
    members, connections, conversations = tables["Members"], tables["Connections"], tables["Conversations"]
    member = {"conversationId": {"S": "c1"}, "userId": {"S": "u1"}, "delivered": {"N": "0"}}
    big = {"conversationId": {"S": "big"}, "name": {"S": "x" * (5 * KB)}}  # a 5 KB item
    connection = {
        "userId": {"S": "u1"},
        "connectionId": {"S": "k1"},
        "leaseShard": {"N": "3"},
        "liveUntil": {"N": "100"},
        "x": {"S": "1"},
    }
    # Arranged outside any function: not counted.
    ddb.put_item(TableName=conversations, Item=big)
    assert meter.snapshot()["counters"] == {}

    with acting_as("groups"):
        # A new member: 1 WRU, and 1 in the byUser index (projection ALL).
        ddb.put_item(TableName=members, Item=member)
        # Its watermark moves: the table item, and its entry in the ALL index, once more.
        ddb.update_item(
            TableName=members,
            Key={"conversationId": {"S": "c1"}, "userId": {"S": "u1"}},
            UpdateExpression="SET delivered = :s",
            ExpressionAttributeValues={":s": {"N": "5"}},
        )
        # Refused by its condition: billed all the same (1 WRU for the small item as it is).
        with pytest.raises(ClientError):
            ddb.put_item(TableName=members, Item=member, ConditionExpression="attribute_not_exists(userId)")
        # Reads: a 5 KB item is 2 RRU strongly consistent, 1 eventually; the projection changes nothing.
        ddb.get_item(TableName=conversations, Key={"conversationId": {"S": "big"}}, ConsistentRead=True)
        ddb.get_item(TableName=conversations, Key={"conversationId": {"S": "big"}})
        ddb.get_item(
            TableName=conversations,
            Key={"conversationId": {"S": "big"}},
            ConsistentRead=True,
            ProjectionExpression="conversationId",
        )
        # Nothing there: the minimum, 1 RRU.
        ddb.get_item(TableName=conversations, Key={"conversationId": {"S": "none"}}, ConsistentRead=True)
        # A transaction: 2 WRU per item (the member's index entry moves at 1).
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": members,
                        "Key": {"conversationId": {"S": "c1"}, "userId": {"S": "u1"}},
                        "UpdateExpression": "SET delivered = :s",
                        "ExpressionAttributeValues": {":s": {"N": "6"}},
                    }
                },
                {"Put": {"TableName": conversations, "Item": {"conversationId": {"S": "c1"}, "lastSeq": {"N": "6"}}}},
            ]
        )
        # A Query is billed for what it read before its filter: 3 items of ~2 KB, 1 matches, 2 RRU.
        for n in range(3):
            ddb.put_item(
                TableName=members,
                Item={"conversationId": {"S": "q"}, "userId": {"S": f"u{n}"}, "pad": {"S": "p" * 2000}},
            )
        ddb.query(
            TableName=members,
            KeyConditionExpression="conversationId = :c",
            FilterExpression="userId = :u",
            ExpressionAttributeValues={":c": {"S": "q"}, ":u": {"S": "u1"}},
            ConsistentRead=True,
        )
    with acting_as("ping"):
        ddb.get_item(TableName=connections, Key={"userId": {"S": "u1"}, "connectionId": {"S": "k1"}})
    with acting_as("connect"):
        ddb.put_item(TableName=connections, Item=connection)
    with acting_as("ping"):
        # A non-key attribute: the KEYS_ONLY byLease index is not written.
        ddb.update_item(
            TableName=connections,
            Key={"userId": {"S": "u1"}, "connectionId": {"S": "k1"}},
            UpdateExpression="SET x = :x",
            ExpressionAttributeValues={":x": {"S": "2"}},
        )
        # The lease moves: its entry moves in byLease (a delete and a put).
        ddb.update_item(
            TableName=connections,
            Key={"userId": {"S": "u1"}, "connectionId": {"S": "k1"}},
            UpdateExpression="SET liveUntil = :t",
            ExpressionAttributeValues={":t": {"N": "200"}},
        )
    with acting_as("sync"):
        # Eventually consistent, projected: each key its own 0.5 RRU (the big one: 1).
        ddb.batch_get_item(
            RequestItems={
                conversations: {
                    "Keys": [{"conversationId": {"S": "big"}}, {"conversationId": {"S": "c1"}}],
                    "ProjectionExpression": "conversationId",
                }
            }
        )
        # An index is read eventually consistently: the member's entry, 0.5 RRU.
        ddb.query(
            TableName=members,
            IndexName="byUser",
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": "u1"}},
        )

    # The new member, the refused put, and 3 items of 2 KB for the query (2 WRU each, in the index too).
    assert counted(meter, "wru", "groups", "PutItem", "Members") == 1 + 1 + 3 * 2
    assert counted(meter, "wru", "groups", "PutItem", "Members/byUser") == 1 + 3 * 2
    assert counted(meter, "wru", "groups", "UpdateItem", "Members") == 1
    assert counted(meter, "wru", "groups", "UpdateItem", "Members/byUser") == 1
    assert counted(meter, "refused_writes", "groups", "PutItem", "Members") == 1
    assert counted(meter, "rru", "groups", "GetItem", "Conversations") == 2 + 1 + 2 + 1
    assert counted(meter, "wru", "groups", "TransactWriteItems", "Members") == 2
    assert counted(meter, "wru", "groups", "TransactWriteItems", "Members/byUser") == 1
    assert counted(meter, "wru", "groups", "TransactWriteItems", "Conversations") == 2
    assert counted(meter, "rru", "groups", "Query", "Members") == 2
    assert counted(meter, "rru", "ping", "GetItem", "Connections") == 0.5
    assert counted(meter, "wru", "connect", "PutItem", "Connections") == 1
    assert counted(meter, "wru", "connect", "PutItem", "Connections/byLease") == 1
    assert counted(meter, "wru", "ping", "UpdateItem", "Connections") == 2
    assert counted(meter, "wru", "ping", "UpdateItem", "Connections/byLease") == 2
    assert counted(meter, "rru", "sync", "BatchGetItem", "Conversations") == 1 + 0.5
    assert counted(meter, "rru", "sync", "Query", "Members/byUser") == 0.5
    assert counted(meter, "request", "groups", "dynamodb", "PutItem") == 5
    assert counted(meter, "request", "groups", "dynamodb", "GetItem") == 4
    assert counted(meter, "request", "ping", "dynamodb", "UpdateItem") == 2
    # The meter's own reads (items before and after each write, whole items for projected reads) are not counted.
    assert sum(v for k, v in meter.snapshot()["counters"].items() if k.startswith("request|")) == 18
    # moto's own figures are kept to compare: fixed, whatever the size (0.5 for any GetItem).
    assert counted(meter, "moto_units", "groups", "GetItem") == 4 * 0.5


# ---- frames, replies, POSTs and invocations through the local gateway ----------------------------------


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
        return {
            "principalId": "alice",
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"userId": "alice", "deviceId": "phone"},
        }

    functions = Functions(
        overrides={
            "authorizer": authorize,
            "connect": lambda e, c: {"statusCode": 200},
            "disconnect": lambda e, c: {"statusCode": 200},
            "ping": lambda e, c: {"statusCode": 200, "body": json.dumps({"type": "pong"})},
            "default": lambda e, c: {"statusCode": 200},
        }
    )
    gateway = Gateway(GatewayConfig(port=0), functions.invoke, None, workers=4)
    await gateway.start()
    gateway.ready = True
    yield gateway
    await gateway.stop()


async def test_frames_replies_posts_and_invocations_are_counted(gateway: Gateway, meter: costs.Meter) -> None:
    ws = await connect(f"ws://127.0.0.1:{gateway.port}/ws?token=t&deviceId=phone", max_size=None)
    async with asyncio.timeout(5):
        while not gateway.connections():
            await asyncio.sleep(0.01)
    connection_id = gateway.connections()[0]["connectionId"]
    await ws.send(json.dumps({"action": "ping"}))
    assert json.loads(await ws.recv()) == {"type": "pong"}
    # A 40 KB frame: two 32 KB messages in (refused by the gateway, which answers it).
    await ws.send(json.dumps({"action": "ping", "pad": "x" * 40_000}))
    assert json.loads(await ws.recv())["code"] == "too_large"
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{gateway.port}",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )

    def post(connection: str, data: bytes) -> None:
        with acting_as("fanout"):
            client.post_to_connection(ConnectionId=connection, Data=data)

    # A 40 KB POST is two messages out; one to a connection that is gone delivers (and costs) nothing.
    await asyncio.to_thread(post, connection_id, b"y" * 40_000)
    assert len(await ws.recv()) == 40_000
    with pytest.raises(ClientError):
        await asyncio.to_thread(post, "gone", b"{}")
    await ws.close()
    async with asyncio.timeout(5):
        while not counted(meter, "invocations", "disconnect") or meter.snapshot()["in_flight"]:
            await asyncio.sleep(0.01)

    snapshot = meter.snapshot()
    assert snapshot["in_flight"] == 0
    counters = snapshot["counters"]
    for function in ("authorizer", "connect", "ping", "disconnect"):
        # GB-seconds as Lambda bills them: the duration rounded up to the millisecond, times the memory.
        billed_ms = max(1, math.ceil(counters.pop(f"duration_ms|{function}")))
        assert counters.pop(f"gb_s|{function}") == pytest.approx(
            billed_ms / 1000 * FUNCTIONS[function].memory_mb / 1024
        )
        assert counters.pop(f"invocations|{function}") == 1
        assert counters.pop(f"log_bytes|{function}") == costs.PLATFORM_LOG_BYTES
    assert counters == {
        "frames_in|ping": 1,
        "messages_in|ping": 1,
        "messages_out|ping|reply": 1,
        "frames_in|(too large)": 1,
        "messages_in|(too large)": 2,
        "messages_out|(gateway)|reply": 1,
        "request|fanout|apigatewaymanagementapi|PostToConnection": 2,
        "messages_out|fanout|post": 2,
        "posts_failed|fanout|GoneException": 1,
        "connection_events|$connect": 1,
        "connection_events|$disconnect": 1,
        "log_bytes|api-gateway": 4 * costs.ACCESS_LOG_BYTES,
    }


# ---- the benchmark's arithmetic ---------------------------------------------------------------------------


def test_dollars_and_the_floor() -> None:
    usage = bench_cost.Usage(
        {
            "wru|send|TransactWriteItems|Messages": 20,
            "rru|send|GetItem|Conversations": 6,
            "messages_in|send": 2,
            "messages_out|send|reply": 2,
            "messages_out|fanout|post": 6,
            "invocations|send": 2,
            "gb_s|send": 0.5,
            "request|fanout|dynamodbstreams|GetRecords": 4,
            "log_bytes|send": 2**30,
        },
        times=2,
    )
    assert (usage.wru, usage.rru, usage.messages_in, usage.replies, usage.posts) == (10, 3, 1, 1, 3)
    assert usage.stream_reads == 2
    parts = usage.dollars()
    assert parts["DynamoDB writes"] == pytest.approx(10 * 0.625e-6)
    assert parts["DynamoDB reads"] == pytest.approx(3 * 0.125e-6)
    assert parts["API Gateway messages"] == pytest.approx(5e-6)
    assert parts["Lambda requests"] == pytest.approx(0.2e-6)
    assert parts["Lambda GB-s"] == pytest.approx(0.25 * 0.0000133334)
    assert parts["CloudWatch Logs"] == pytest.approx(0.25)
    # The 1:1 floor: 1 WRU, the send and two acks in, 3 POSTs of the message and one per receipt.
    floor = bench_cost.Floor(wru=1, messages_in=3, messages_out=5)
    assert floor.cost() * 1e6 == pytest.approx(8.625)


def test_the_benchmark_waits_out_the_notification_window_the_notify_function_uses() -> None:
    from chat import notify

    assert bench_cost.NOTIFY_WINDOW_S == notify.NOTIFY_WINDOW_S
