"""Scheduled functions: one EventBridge rule per topology schedule, invoking exactly its function."""

from __future__ import annotations

import pytest

from chat import topology
from tests.infrastructure.conftest import Synth


def rule_of(synth: Synth, schedule: topology.Schedule) -> dict[str, object]:
    props: dict[str, object] = synth.resources[synth.logical_id(synth.stack.schedules.rules[schedule.function])][
        "Properties"
    ]
    return props


def test_one_rule_per_schedule(synth: Synth) -> None:
    assert len(synth.of_type("AWS::Events::Rule")) == len(topology.SCHEDULES) == 1


@pytest.mark.parametrize("schedule", topology.SCHEDULES, ids=lambda s: s.function)
def test_the_rule_runs_its_function_at_its_rate_without_retries(synth: Synth, schedule: topology.Schedule) -> None:
    function = synth.logical_id(synth.stack.functions[schedule.function])
    props = rule_of(synth, schedule)
    assert props["ScheduleExpression"] == "rate(1 minute)" and schedule.every_s == 60
    assert props["State"] == "ENABLED"
    assert props["Targets"] == [
        {"Arn": {"Fn::GetAtt": [function, "Arn"]}, "Id": "Target0", "RetryPolicy": {"MaximumRetryAttempts": 0}}
    ]
    # a failed run is not run again by Lambda either: the next one does the same work
    (config,) = synth.of_type("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"] == {
        "FunctionName": {"Ref": function},
        "MaximumRetryAttempts": 0,
        "Qualifier": "$LATEST",
    }


@pytest.mark.parametrize("schedule", topology.SCHEDULES, ids=lambda s: s.function)
def test_only_its_rule_may_invoke_the_scheduled_function(synth: Synth, schedule: topology.Schedule) -> None:
    function = synth.logical_id(synth.stack.functions[schedule.function])
    rule = synth.logical_id(synth.stack.schedules.rules[schedule.function])
    permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
        }
    ]
