"""The stream adapter (chat/streams.py): records grouped by partition key, keys side by side, each
key's records in order, and the partial batch response naming the earliest failure only."""

from __future__ import annotations

import contextvars
import importlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from chat import streams, topology
from chat.concurrency import ContextPool
from chat.streams import AllRecordsFailed, Change, key_groups, ordered_stream_handler, partition_key_of
from local.lambdas import LambdaContext

Item = tuple[str, int]  # (conversation, seq)


def batch(*items: Item) -> dict[str, Any]:
    """A Messages stream event: one INSERT per (conversation, seq), sequence numbers in batch order."""
    records = []
    for position, (conversation, seq) in enumerate(items):
        keys = {"conversationId": {"S": conversation}, "seq": {"N": str(seq)}}
        records.append(
            {
                "eventID": f"e{position}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": keys, "NewImage": dict(keys), "SequenceNumber": str(1000 + position)},
            }
        )
    return {"Records": records}


def item_of(change: Change) -> Item:
    return change.new_image["conversationId"]["S"], int(change.new_image["seq"]["N"])


def sequence_numbers(event: dict[str, Any], *positions: int) -> list[dict[str, str]]:
    return [{"itemIdentifier": event["Records"][p]["dynamodb"]["SequenceNumber"]} for p in positions]


class Consumer:
    """Records what it consumed, per conversation and in order; fails the items in `failing`."""

    def __init__(self, failing: set[Item] | None = None, before: Callable[[Item], None] | None = None) -> None:
        self.failing = failing or set()
        self.before = before or (lambda item: None)
        self.consumed: dict[str, list[int]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def __call__(self, change: Change) -> None:
        conversation, seq = item_of(change)
        with self.lock:
            self.in_flight[conversation] += 1
            self.most_in_flight[conversation] = max(self.most_in_flight[conversation], self.in_flight[conversation])
        try:
            self.before((conversation, seq))
            if (conversation, seq) in self.failing:
                raise RuntimeError(f"{conversation} #{seq} could not be pushed")
            with self.lock:
                self.consumed[conversation].append(seq)
        finally:
            with self.lock:
                self.in_flight[conversation] -= 1


def run(consumer: Consumer, event: dict[str, Any], pool: ContextPool | None = None) -> dict[str, Any]:
    return ordered_stream_handler(consumer, "conversationId", pool)(event, LambdaContext.of("fanout"))


# ---- grouping ----------------------------------------------------------------------------------------


def test_positions_are_grouped_by_key_each_group_in_batch_order_groups_by_first_record() -> None:
    assert key_groups(["a", "b", "a", "c", "b", "a"]) == [[0, 2, 5], [1, 4], [3]]


def test_one_key_is_one_group_and_distinct_keys_are_one_group_each() -> None:
    assert key_groups(["a", "a", "a"]) == [[0, 1, 2]]
    assert key_groups(["a", "b", "c"]) == [[0], [1], [2]]
    assert key_groups([]) == []


def test_records_without_the_key_attribute_share_one_group() -> None:
    assert key_groups([None, "a", None]) == [[0, 2], [1]]


def test_the_partition_key_is_the_typed_value_of_the_attribute() -> None:
    record = batch(("c1", 1))["Records"][0]
    assert partition_key_of(record, "conversationId") == partition_key_of(
        batch(("c1", 2))["Records"][0], "conversationId"
    )
    assert partition_key_of(record, "conversationId") != partition_key_of(
        batch(("c2", 1))["Records"][0], "conversationId"
    )
    # {"S": "1"} and {"N": "1"} are different keys
    assert partition_key_of(record, "seq") != partition_key_of({"dynamodb": {"Keys": {"seq": {"S": "1"}}}}, "seq")
    assert partition_key_of(record, "userId") is None


# ---- order and concurrency ---------------------------------------------------------------------------


def test_each_conversation_is_consumed_in_order_and_never_two_of_its_records_at_once() -> None:
    conversations = [f"c{i}" for i in range(6)]
    items = [(c, seq) for seq in range(1, 6) for c in conversations]  # interleaved: c0#1, c1#1, ..., c0#2, ...
    # Odd seqs slower: an even seq running beside its odd predecessor would overtake it.
    consumer = Consumer(before=lambda item: time.sleep(0.005) if item[1] % 2 else None)

    assert run(consumer, batch(*items)) == {"batchItemFailures": []}

    assert dict(consumer.consumed) == {c: [1, 2, 3, 4, 5] for c in conversations}
    assert set(consumer.most_in_flight.values()) == {1}


def test_conversations_are_consumed_side_by_side() -> None:
    # Each conversation's first record waits for the others' first: one at a time, the wait would fail.
    arrived = threading.Barrier(3, timeout=10)
    consumer = Consumer(before=lambda item: arrived.wait() if item[1] == 1 else None)

    assert run(consumer, batch(("a", 1), ("a", 2), ("b", 1), ("c", 1), ("b", 2))) == {"batchItemFailures": []}
    assert dict(consumer.consumed) == {"a": [1, 2], "b": [1, 2], "c": [1]}


def test_at_most_max_parallel_keys_conversations_at_once() -> None:
    # The first MAX_PARALLEL_KEYS conversations wait for each other (so that many do run at once),
    # then hold their workers a while, or until another conversation starts beside them (which a
    # larger pool would let happen).
    bound = streams.MAX_PARALLEL_KEYS
    together = threading.Barrier(bound, timeout=10)
    another_started = threading.Event()
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def before(item: Item) -> None:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            if int(item[0][1:]) < bound:
                together.wait()
                another_started.wait(0.3)
            else:
                another_started.set()
        finally:
            with lock:
                in_flight -= 1

    conversations = [f"c{i}" for i in range(3 * bound)]
    assert run(Consumer(before=before), batch(*((c, 1) for c in conversations))) == {"batchItemFailures": []}
    assert most == bound


def test_the_consumer_runs_in_the_invocations_context() -> None:
    """Locally the function whose role signs the AWS calls is a context variable: it must follow."""
    invocation: contextvars.ContextVar[str] = contextvars.ContextVar("invocation", default="none")
    seen: list[str] = []
    consumer = Consumer(before=lambda item: seen.append(invocation.get()))
    invocation.set("fanout")

    run(consumer, batch(("a", 1), ("b", 1), ("c", 1)))
    assert seen == ["fanout"] * 3


# ---- failures ----------------------------------------------------------------------------------------


def test_a_failure_holds_back_its_conversation_only_and_only_it_is_reported() -> None:
    event = batch(("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3))
    consumer = Consumer(failing={("a", 2)})

    result = run(consumer, event)

    # a#2 is where Lambda resumes: it and everything after it come back (b#2 and b#3 again).
    assert result == {"batchItemFailures": sequence_numbers(event, 2)}
    # a#3 never overtakes a#2; b went on.
    assert dict(consumer.consumed) == {"a": [1], "b": [1, 2, 3]}


def test_with_failures_in_several_conversations_the_earliest_is_reported() -> None:
    event = batch(("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2))
    consumer = Consumer(failing={("b", 2), ("a", 2)})

    result = run(consumer, event)

    assert result == {"batchItemFailures": sequence_numbers(event, 3)}  # a#2, before b#2
    assert dict(consumer.consumed) == {"a": [1], "b": [1], "c": [1, 2]}


def test_a_failed_first_record_is_reported_when_other_records_succeeded() -> None:
    event = batch(("a", 1), ("b", 1), ("a", 2))
    consumer = Consumer(failing={("a", 1)})

    assert run(consumer, event) == {"batchItemFailures": sequence_numbers(event, 0)}
    assert dict(consumer.consumed) == {"b": [1]}


@pytest.mark.parametrize(
    "items",
    [[("a", 1), ("a", 2), ("a", 3)], [("a", 1), ("b", 1), ("a", 2), ("b", 2)]],
    ids=["one conversation", "every conversation's first"],
)
def test_when_no_record_succeeds_the_invocation_fails(items: list[Item]) -> None:
    consumer = Consumer(failing={("a", 1), ("b", 1)})
    with pytest.raises(AllRecordsFailed, match="All records failed"):
        run(consumer, batch(*items))
    assert dict(consumer.consumed) == {}


def test_without_a_key_the_batch_is_one_sequence() -> None:
    event = batch(("a", 1), ("b", 1), ("a", 2))
    consumer = Consumer(failing={("b", 1)})
    result = ordered_stream_handler(consumer)(event, LambdaContext.of("fanout"))
    assert result == {"batchItemFailures": sequence_numbers(event, 1)}
    assert dict(consumer.consumed) == {"a": [1]}


# ---- each topology stream keys its records by its table's partition key ------------------------------


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: s.function)
def test_each_stream_holds_back_the_records_of_a_failed_partition_key_only(
    monkeypatch: pytest.MonkeyPatch, stream: topology.Stream
) -> None:
    table = topology.TABLES[stream.table]
    assert table.sort is not None

    def record(position: int, partition: str, sort: str) -> dict[str, Any]:
        sort_value = {"N": sort} if table.sort and table.sort.type == "N" else {"S": sort}
        keys = {table.partition.name: {"S": partition}, table.sort.name: sort_value}  # type: ignore[union-attr]
        return {
            "eventName": "INSERT",
            "dynamodb": {"Keys": keys, "NewImage": dict(keys), "SequenceNumber": str(1000 + position)},
        }

    # Two items of partition k, two of partition l: the first item of k fails.
    event = {"Records": [record(0, "k", "1"), record(1, "l", "1"), record(2, "k", "2"), record(3, "l", "2")]}
    consumed: list[tuple[str, str]] = []

    def consume(change: Change) -> None:
        partition = change.new_image[table.partition.name]["S"]
        sort = next(iter(change.new_image[table.sort.name].values()))  # type: ignore[union-attr]
        if (partition, sort) == ("k", "1"):
            raise RuntimeError("k#1 failed")
        consumed.append((partition, sort))

    module, _, attribute = stream.consumer.partition(":")
    monkeypatch.setattr(importlib.import_module(module), attribute, consume)
    handler = streams.stream_handler(stream.function)

    assert handler(event, LambdaContext.of(stream.function)) == {"batchItemFailures": [{"itemIdentifier": "1000"}]}
    # k#2 (another item, same partition key) is held back; l's items are not.
    assert sorted(consumed) == [("l", "1"), ("l", "2")]
