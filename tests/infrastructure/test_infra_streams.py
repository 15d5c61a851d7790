"""Stream -> function mappings: ordered, partial-batch aware, bounded retries, failures to the DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat import topology
from infrastructure.streams import MAX_RECORD_AGE, PARALLELIZATION_FACTOR
from tests.infrastructure.cfn import as_list, refs, statements_of_role
from tests.infrastructure.conftest import Synth


def dead_letter_queue_id(synth: Synth) -> str:
    return synth.logical_id(synth.stack.streams.dead_letters)


def mapping_for(synth: Synth, stream: topology.Stream) -> dict[str, Any]:
    fn = synth.logical_id(synth.stack.functions[stream.function])
    table = synth.logical_id(synth.stack.tables[stream.table])
    found = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fn}
        and m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    ]
    assert len(found) == 1, f"{stream.table} -> {stream.function}: {len(found)} mappings"
    return found[0]


def test_one_mapping_per_topology_stream(synth: Synth) -> None:
    stream_mappings = [
        m
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if "StreamArn" in str(m["Properties"]["EventSourceArn"])
    ]
    assert len(stream_mappings) == len(topology.STREAMS)


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_stream_source_table_has_a_stream(stream: topology.Stream) -> None:
    assert topology.TABLES[stream.table].stream is not None


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_mapping_settings(synth: Synth, stream: topology.Stream) -> None:
    props = mapping_for(synth, stream)
    assert props["BatchSize"] == stream.batch_size
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRetryAttempts"] == stream.max_retries
    assert props["MaximumRecordAgeInSeconds"] == MAX_RECORD_AGE.to_seconds() == 3600
    assert props["ParallelizationFactor"] == PARALLELIZATION_FACTOR
    assert props["StartingPosition"] == "LATEST"


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_one_batch_per_shard_at_a_time_as_lambda_orders_only_per_item(synth: Synth, stream: topology.Stream) -> None:
    """With ParallelizationFactor > 1 Lambda keeps order per item (partition and sort key), not per
    partition key: each table's items are finer than the order its consumer needs (one conversation,
    one user), so batches of one shard must not run side by side (see infrastructure/streams.py)."""
    assert topology.TABLES[stream.table].sort is not None
    assert mapping_for(synth, stream)["ParallelizationFactor"] == 1


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_the_mapping_filters_the_events_the_topology_leaves_out(synth: Synth, stream: topology.Stream) -> None:
    props = mapping_for(synth, stream)
    if stream.events:
        (only,) = props["FilterCriteria"]["Filters"]
        assert json.loads(only["Pattern"]) == {"eventName": list(stream.events)}
    else:
        assert "FilterCriteria" not in props


def test_presence_push_is_never_invoked_for_a_modified_connection() -> None:
    """A renewed lease (about every other ping of every connection) must not cost an invocation."""
    (stream,) = (s for s in topology.STREAMS if s.table == "Connections")
    assert stream.events == ("INSERT", "REMOVE")


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_failed_batches_go_to_the_dead_letter_queue(synth: Synth, stream: topology.Stream) -> None:
    props = mapping_for(synth, stream)
    queue = dead_letter_queue_id(synth)
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}}
    role = synth.logical_id(synth.stack.functions.roles[stream.function])
    sends = [
        s
        for s in statements_of_role(synth.resources, role)
        if "sqs:SendMessage" in as_list(s["Action"]) and refs(s["Resource"]) == {queue}
    ]
    assert sends, f"{stream.function} cannot write to the dead-letter queue"


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: f"{s.table}->{s.function}")
def test_consumer_may_read_its_stream(synth: Synth, stream: topology.Stream) -> None:
    table = synth.logical_id(synth.stack.tables[stream.table])
    role = synth.logical_id(synth.stack.functions.roles[stream.function])
    actions = {
        action
        for s in statements_of_role(synth.resources, role)
        if {"Fn::GetAtt": [table, "StreamArn"]} in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }
    assert {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= actions


def test_dead_letter_queue_is_encrypted_and_refuses_plain_http(synth: Synth) -> None:
    queue_id = dead_letter_queue_id(synth)
    queue = synth.resources[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = (
        p for p in synth.of_type("AWS::SQS::QueuePolicy").values() if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    )
    denies = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1
