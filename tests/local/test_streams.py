"""Stream pollers against the in-process moto server, and moto's transactions as the stack runs them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from chat.topology import STREAMS, TABLES, Stream
from infrastructure.template import synthesized_template
from local.iam import on_failure_queues
from local.lambdas import Functions
from local.moto_server import MotoServer
from local.schema import create_table_request
from local.streams import StreamPoller


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dynamodb(moto: MotoServer) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto.endpoint, region_name="us-east-1")


@pytest.fixture
def messages_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh Messages table (with its stream) under a unique name."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(TABLES["Messages"].env, name)
    dynamodb.create_table(**create_table_request(TABLES["Messages"]))
    return name


class Recorder:
    def __init__(self, behaviour: Callable[[list[dict[str, Any]], int], Any] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.behaviour = behaviour or (lambda records, call: None)
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.batches.append(event["Records"])
            call = len(self.batches)
        return self.behaviour(event["Records"], call)

    def seqs(self) -> list[list[int]]:
        with self.lock:
            return [[int(r["dynamodb"]["Keys"]["seq"]["N"]) for r in batch] for batch in self.batches]


@pytest.fixture
def run_poller(moto: MotoServer) -> Iterator[Callable[..., StreamPoller]]:
    stops: list[tuple[threading.Event, StreamPoller]] = []

    def start(
        recorder: Recorder,
        batch_size: int = 100,
        max_retries: int = 10,
        stream: Stream | None = None,
        on_failure_queue_url: str | None = None,
    ) -> StreamPoller:
        stop = threading.Event()
        stream = stream or Stream("Messages", "fanout")
        functions = Functions("us-east-1", "123456789012", overrides={stream.function: recorder})
        poller = StreamPoller(
            Stream(stream.table, stream.function, batch_size=batch_size, max_retries=max_retries),
            functions,
            moto.endpoint,
            "us-east-1",
            moto.writes,
            stop,
            retry_backoff_s=0.01,
            on_failure_queue_url=on_failure_queue_url,
        )
        poller.start()
        stops.append((stop, poller))
        return poller

    yield start
    for stop, poller in stops:
        stop.set()
        moto.writes.bump()
        poller.join(5)


def put(dynamodb: Any, table: str, seq: int, conversation: str = "c1") -> None:
    dynamodb.put_item(
        TableName=table, Item={"conversationId": {"S": conversation}, "seq": {"N": str(seq)}, "text": {"S": "hi"}}
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_records_arrive_in_order_in_batches_shaped_like_lambdas(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    recorder = Recorder()
    poller = run_poller(recorder, batch_size=3)
    for seq in range(1, 8):
        put(dynamodb, messages_table, seq)
    wait_until(lambda: sum(len(b) for b in recorder.batches) == 7)
    assert [s for batch in recorder.seqs() for s in batch] == list(range(1, 8))
    assert all(len(batch) <= 3 for batch in recorder.batches)
    record = recorder.batches[0][0]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == poller.stream_arn
    assert record["dynamodb"]["NewImage"]["text"] == {"S": "hi"}
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert {"SequenceNumber", "SizeBytes", "Keys"} <= set(record["dynamodb"])


def test_a_new_record_is_picked_up_within_a_poll_interval(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    recorder = Recorder()
    run_poller(recorder)
    time.sleep(0.3)
    started = time.monotonic()
    put(dynamodb, messages_table, 1)
    wait_until(lambda: bool(recorder.batches))
    assert time.monotonic() - started < 0.5


def test_batch_item_failures_retry_from_the_first_failed_record(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    def fail_seq_3_once(records: list[dict[str, Any]], call: int) -> Any:
        if call == 1:
            failed = [r for r in records if r["dynamodb"]["Keys"]["seq"]["N"] in ("3", "4")]
            return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}
        return {"batchItemFailures": []}

    for seq in range(1, 6):
        put(dynamodb, messages_table, seq)
    recorder = Recorder(fail_seq_3_once)
    run_poller(recorder)
    wait_until(lambda: len(recorder.batches) >= 2)
    time.sleep(0.2)
    assert recorder.seqs() == [[1, 2, 3, 4, 5], [3, 4, 5]]


def test_an_error_retries_the_whole_batch_then_gives_up_and_moves_on(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    def fail_seq_1(records: list[dict[str, Any]], call: int) -> Any:
        if records[0]["dynamodb"]["Keys"]["seq"]["N"] == "1":
            raise RuntimeError("boom")

    put(dynamodb, messages_table, 1)
    recorder = Recorder(fail_seq_1)
    run_poller(recorder, max_retries=2)
    wait_until(lambda: len(recorder.batches) == 3)  # the first try and two retries
    put(dynamodb, messages_table, 2)
    wait_until(lambda: len(recorder.batches) == 4)
    assert recorder.seqs() == [[1], [1], [1], [2]]


def test_a_shards_batches_are_handed_over_one_at_a_time(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    """As Lambda does with ParallelizationFactor 1: the next batch only once the last one returned,
    so two batches holding records of one conversation never run side by side."""
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def slow(records: list[dict[str, Any]], call: int) -> Any:
        nonlocal in_flight, most_in_flight
        with lock:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1

    for seq in range(1, 5):
        put(dynamodb, messages_table, seq, conversation="c1")
        put(dynamodb, messages_table, seq, conversation="c2")
    recorder = Recorder(slow)
    run_poller(recorder, batch_size=2)
    wait_until(lambda: sum(len(b) for b in recorder.batches) == 8)
    assert len(recorder.batches) == 4
    assert most_in_flight == 1
    records = [r["dynamodb"]["Keys"] for batch in recorder.batches for r in batch]
    for conversation in ("c1", "c2"):
        assert [int(k["seq"]["N"]) for k in records if k["conversationId"]["S"] == conversation] == [1, 2, 3, 4]


def test_every_mapping_runs_one_batch_per_shard_at_a_time_as_the_poller_does() -> None:
    """The poller models ParallelizationFactor 1 only: a mapping given more needs the poller to
    model it (batches of one shard side by side, ordered per item) before the tests mean anything."""
    mappings = [
        r["Properties"]
        for r in synthesized_template()["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and "StreamArn" in str(r["Properties"]["EventSourceArn"])
    ]
    assert len(mappings) == len(STREAMS)
    assert {m["ParallelizationFactor"] for m in mappings} == {1}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.function)
def test_a_batch_given_up_goes_to_the_on_failure_queue_with_its_place_in_the_stream(
    moto: MotoServer,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
    run_poller: Callable[..., StreamPoller],
    stream: Stream,
) -> None:
    # Given the stream's function always fails, and the on-failure queue its mapping names in the template
    table = TABLES[stream.table]
    name = f"t-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(table.env, name)
    dynamodb.create_table(**create_table_request(table))
    sqs = boto3.client("sqs", endpoint_url=moto.endpoint, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=on_failure_queues(synthesized_template())[stream.function])["QueueUrl"]

    def always_fail(records: list[dict[str, Any]], call: int) -> Any:
        raise RuntimeError("boom")

    recorder = Recorder(always_fail)
    poller = run_poller(recorder, max_retries=1, stream=stream, on_failure_queue_url=queue_url)

    # When a record arrives
    item = {table.partition.name: {"S": "k1"}}
    if table.sort:
        item[table.sort.name] = {"N": "1"} if table.sort.type == "N" else {"S": "s1"}
    dynamodb.put_item(TableName=name, Item=item)

    # Then after the first try and one retry, the queue says where the batch was (not its content)
    # (the streams share one queue: this test's record is the one naming this test's stream)
    mine: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not mine:
        assert time.monotonic() < deadline, "nothing reached the on-failure queue"
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"])["DDBStreamBatchInfo"]["streamArn"] == poller.stream_arn:
                mine.append(message)
        time.sleep(0.05)
    assert len(mine) == 1
    assert len(recorder.batches) == 2
    record = json.loads(mine[0]["Body"])
    sequence_number = recorder.batches[0][0]["dynamodb"]["SequenceNumber"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(f":function:chat-{stream.function}")
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_number
    assert info["streamArn"] == poller.stream_arn
    assert "k1" not in mine[0]["Body"]


def test_a_cancelled_transaction_leaves_no_item_and_no_stream_record(
    dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    recorder = Recorder()
    run_poller(recorder)
    put(dynamodb, messages_table, 1)
    wait_until(lambda: len(recorder.batches) == 1)

    def transaction(seq: int, condition_on: int) -> None:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": messages_table,
                        "Item": {"conversationId": {"S": "c1"}, "seq": {"N": str(seq)}},
                        "ConditionExpression": "attribute_not_exists(seq)",
                    }
                },
                {
                    "Update": {
                        "TableName": messages_table,
                        "Key": {"conversationId": {"S": "c1"}, "seq": {"N": str(condition_on)}},
                        "UpdateExpression": "SET flag = :t",
                        "ConditionExpression": "attribute_exists(seq)",
                        "ExpressionAttributeValues": {":t": {"BOOL": True}},
                    }
                },
            ]
        )

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        transaction(seq=2, condition_on=99)  # the second item's condition fails: nothing is written
    assert "Item" not in dynamodb.get_item(
        TableName=messages_table, Key={"conversationId": {"S": "c1"}, "seq": {"N": "2"}}
    )
    transaction(seq=3, condition_on=1)  # both apply
    item = dynamodb.get_item(TableName=messages_table, Key={"conversationId": {"S": "c1"}, "seq": {"N": "1"}})
    assert item["Item"]["flag"] == {"BOOL": True}
    # The stream still flows after a cancellation, and never saw seq 2.
    wait_until(lambda: sum(len(b) for b in recorder.batches) == 3)
    records = [r for batch in recorder.batches for r in batch]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["seq"]["N"]) for r in records] == [
        ("INSERT", "1"),
        ("INSERT", "3"),
        ("MODIFY", "1"),
    ]


def test_concurrent_conditional_writes_are_atomic(dynamodb: Any, messages_table: str) -> None:
    """Many threads race to claim the same key: exactly one wins, as in DynamoDB."""
    winners: list[int] = []

    def claim(n: int) -> None:
        client = boto3.client("dynamodb", endpoint_url=dynamodb.meta.endpoint_url, region_name="us-east-1")
        try:
            client.put_item(
                TableName=messages_table,
                Item={"conversationId": {"S": "race"}, "seq": {"N": "1"}, "by": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(seq)",
            )
            winners.append(n)
        except client.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_stale_shard_iterators_are_pruned(
    moto: MotoServer, dynamodb: Any, messages_table: str, run_poller: Callable[..., StreamPoller]
) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    recorder = Recorder()
    poller = run_poller(recorder)

    def delivered() -> int:
        return sum(len(b) for b in recorder.batches)

    for seq in range(1, 6):
        put(dynamodb, messages_table, seq)
        wait_until(lambda n=seq: delivered() == n)
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    assert len(backend.shard_iterators) > 5  # one per GetRecords, kept forever by moto
    with poller.reader.lock:
        live = poller.reader.live_iterators()
        moto.prune_shard_iterators(keep=live)
        assert set(backend.shard_iterators) == live
    put(dynamodb, messages_table, 6)  # the poller carries on with the iterator it holds
    wait_until(lambda: delivered() == 6)
