"""The sends queue: FIFO (one writer per conversation), encrypted, TLS only, a dead-letter queue, its
consumer fed in batches with partial batch responses, and only `send` allowed to send to it."""

from __future__ import annotations

from typing import Any

import pytest

from chat import topology
from tests.infrastructure.cfn import as_list, statements_of_role
from tests.infrastructure.conftest import Synth


def queue_id(synth: Synth, spec: topology.Queue) -> str:
    return synth.logical_id(synth.stack.queues.queues[spec.logical_name])


@pytest.mark.parametrize("spec", topology.QUEUES, ids=lambda q: q.logical_name)
def test_the_queue_is_fifo_encrypted_and_gives_up_into_a_dead_letter_queue(synth: Synth, spec: topology.Queue) -> None:
    properties = synth.resources[queue_id(synth, spec)]["Properties"]
    assert properties["FifoQueue"] is True
    assert properties.get("ContentBasedDeduplication") in (None, False), "senders give deduplication ids"
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["VisibilityTimeout"] == spec.visibility_timeout_s
    consumer_timeout = topology.FUNCTIONS[spec.function].timeout_s
    assert spec.visibility_timeout_s >= 6 * consumer_timeout, "Lambda's advice for SQS event sources"
    redrive = properties["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == spec.max_receives
    (dead_letters,) = (
        lid
        for lid in synth.of_type("AWS::SQS::Queue")
        if redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [lid, "Arn"]}
    )
    assert synth.resources[dead_letters]["Properties"]["FifoQueue"] is True
    for queue in (queue_id(synth, spec), dead_letters):
        policies = [
            p for p in synth.of_type("AWS::SQS::QueuePolicy").values() if p["Properties"]["Queues"] == [{"Ref": queue}]
        ]
        assert len(policies) == 1
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
        )


@pytest.mark.parametrize("spec", topology.QUEUES, ids=lambda q: q.logical_name)
def test_the_consumer_gets_batches_with_partial_batch_responses(synth: Synth, spec: topology.Queue) -> None:
    function = synth.logical_id(synth.stack.functions[spec.function])
    (mapping,) = (
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id(synth, spec), "Arn"]}
    )
    assert mapping["FunctionName"] == {"Ref": function}
    assert mapping["BatchSize"] == spec.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def sqs_statements(synth: Synth, function: str) -> list[dict[str, Any]]:
    role = synth.logical_id(synth.stack.functions.roles[function])
    return [
        s
        for s in statements_of_role(synth.resources, role)
        if any(action.startswith("sqs:") for action in as_list(s["Action"]))
    ]


@pytest.mark.parametrize("spec", topology.QUEUES, ids=lambda q: q.logical_name)
def test_only_the_functions_that_enqueue_may_send_and_only_there(synth: Synth, spec: topology.Queue) -> None:
    queue_arn = {"Fn::GetAtt": [queue_id(synth, spec), "Arn"]}
    for function in topology.FUNCTIONS.values():
        environment = synth.resources[synth.logical_id(synth.stack.functions[function.name])]["Properties"].get(
            "Environment", {}
        )
        sends = [s for s in sqs_statements(synth, function.name) if "sqs:SendMessage" in as_list(s["Action"])]
        if spec.logical_name in function.enqueues:
            assert [(as_list(s["Action"]), s["Resource"]) for s in sends] == [(["sqs:SendMessage"], queue_arn)]
            assert environment["Variables"][spec.env] == {"Ref": queue_id(synth, spec)}
        else:
            assert all(queue_arn not in as_list(s["Resource"]) for s in sends), function.name
            assert spec.env not in environment.get("Variables", {}), function.name
