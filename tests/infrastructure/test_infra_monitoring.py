"""Alarms (each one's metric, threshold, comparison and SNS actions), the alarm topic, the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from constructs import IConstruct

import chat.observability
from chat import topology
from infrastructure.config import METRICS_NAMESPACE, PROJECT_ROOT, SERVICE_NAME
from infrastructure.monitoring import (
    AUTHORIZER_MAX_FAILED_PERCENT,
    AUTHORIZER_MIN_HANDSHAKES,
    MESSAGES_SENT,
    PUSH_METRICS,
)
from tests.infrastructure.cfn import join_text
from tests.infrastructure.conftest import Synth

FUNCTIONS = list(topology.FUNCTIONS.values())
NOT_AUTHORIZER = [f for f in FUNCTIONS if f.name != topology.AUTHORIZER]


def alarm(synth: Synth, construct: IConstruct) -> dict[str, Any]:
    resource = synth.resources[synth.logical_id(construct)]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return dict(resource["Properties"])


def topic_id(synth: Synth) -> str:
    (lid,) = synth.of_type("AWS::SNS::Topic")
    assert lid == synth.logical_id(synth.stack.monitoring.topic.topic)
    return lid


def function_ref(synth: Synth, name: str) -> dict[str, str]:
    return {"Ref": synth.logical_id(synth.stack.functions[name])}


def assert_single_metric(
    props: dict[str, Any],
    *,
    namespace: str,
    name: str,
    dimensions: list[dict[str, Any]],
    statistic: str,
    period: int,
    threshold: float,
) -> None:
    assert props["Namespace"] == namespace
    assert props["MetricName"] == name
    assert props["Dimensions"] == dimensions
    assert props["Statistic"] == statistic
    assert props["Period"] == period
    assert props["Threshold"] == threshold
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_one_alarm_per_concern_and_nothing_else(synth: Synth) -> None:
    # dead-letter queue, iterator age per stream, dead letters and oldest message per queue, API 5xx,
    # errors and throttles per function
    expected = 1 + len(topology.STREAMS) + 2 * len(topology.QUEUES) + 1 + 2 * len(FUNCTIONS)
    assert len(synth.of_type("AWS::CloudWatch::Alarm")) == expected == len(synth.stack.monitoring.alarms)


def test_every_alarm_notifies_the_topic_on_alarm_and_on_recovery(synth: Synth) -> None:
    topic = {"Ref": topic_id(synth)}
    for lid, resource in synth.of_type("AWS::CloudWatch::Alarm").items():
        props = resource["Properties"]
        assert props["AlarmActions"] == [topic], lid
        assert props["OKActions"] == [topic], lid
        assert props["TreatMissingData"] == "notBreaching", lid
        assert props["EvaluationPeriods"] == 1, lid
        assert props["DatapointsToAlarm"] == 1, lid
        assert len(props["AlarmDescription"]) > 40, lid


def test_dead_letter_queue_alarm_fires_on_any_visible_message(synth: Synth) -> None:
    queue = synth.logical_id(synth.stack.streams.dead_letters)
    assert_single_metric(
        alarm(synth, synth.stack.monitoring.stream_alarms.dead_letters),
        namespace="AWS/SQS",
        name="ApproximateNumberOfMessagesVisible",
        dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
        statistic="Maximum",
        period=300,
        threshold=0,
    )


@pytest.mark.parametrize("stream", topology.STREAMS, ids=lambda s: s.function)
def test_iterator_age_alarm_per_stream_function(synth: Synth, stream: topology.Stream) -> None:
    assert_single_metric(
        alarm(synth, synth.stack.monitoring.stream_alarms.iterator_age[stream.function]),
        namespace="AWS/Lambda",
        name="IteratorAge",
        dimensions=[{"Name": "FunctionName", "Value": function_ref(synth, stream.function)}],
        statistic="Maximum",
        period=60,
        threshold=30_000,
    )


@pytest.mark.parametrize("spec", NOT_AUTHORIZER, ids=lambda f: f.name)
def test_errors_alarm_per_function(synth: Synth, spec: topology.Function) -> None:
    assert_single_metric(
        alarm(synth, synth.stack.monitoring.function_alarms.errors[spec.name]),
        namespace="AWS/Lambda",
        name="Errors",
        dimensions=[{"Name": "FunctionName", "Value": function_ref(synth, spec.name)}],
        statistic="Sum",
        period=60,
        threshold=0,
    )


def test_authorizer_errors_alarm_watches_the_share_of_failed_handshakes(synth: Synth) -> None:
    """Every refused token is an authorizer error (the way to answer 401): alarming on any error
    would page on every expired token."""
    props = alarm(synth, synth.stack.monitoring.function_alarms.errors[topology.AUTHORIZER])
    assert "MetricName" not in props
    assert props["Threshold"] == AUTHORIZER_MAX_FAILED_PERCENT == 50
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    by_id = {metric["Id"]: metric for metric in props["Metrics"]}
    (expression,) = (m for m in props["Metrics"] if "Expression" in m)
    assert expression["ReturnData"] is True
    assert expression["Expression"] == (
        f"IF(invocations >= {AUTHORIZER_MIN_HANDSHAKES}, 100 * FILL(errors, 0) / invocations, 0)"
    )
    authorizer = [{"Name": "FunctionName", "Value": function_ref(synth, topology.AUTHORIZER)}]
    for metric_id, name in (("errors", "Errors"), ("invocations", "Invocations")):
        stat = by_id[metric_id]["MetricStat"]
        assert stat["Metric"] == {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": authorizer}
        assert stat["Stat"] == "Sum"
        assert stat["Period"] == 300
        assert by_id[metric_id]["ReturnData"] is False


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_throttles_alarm_per_function(synth: Synth, spec: topology.Function) -> None:
    assert_single_metric(
        alarm(synth, synth.stack.monitoring.function_alarms.throttles[spec.name]),
        namespace="AWS/Lambda",
        name="Throttles",
        dimensions=[{"Name": "FunctionName", "Value": function_ref(synth, spec.name)}],
        statistic="Sum",
        period=60,
        threshold=0,
    )


def test_websocket_api_5xx_alarm_is_on_execution_errors_of_the_stage(synth: Synth) -> None:
    assert_single_metric(
        alarm(synth, synth.stack.monitoring.api_alarms.server_errors),
        namespace="AWS/ApiGateway",
        name="ExecutionError",
        dimensions=[
            {"Name": "ApiId", "Value": {"Ref": synth.logical_id(synth.stack.api.api)}},
            {"Name": "Stage", "Value": "prod"},
        ],
        statistic="Sum",
        period=60,
        threshold=0,
    )


def test_alarm_topic_takes_cloudwatch_alarms_of_this_account_over_tls_only(synth: Synth) -> None:
    topic = topic_id(synth)
    (policy,) = synth.of_type("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = (s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] == "*"
    (allow,) = (s for s in statements if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = join_text(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source == "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*"


def test_alarm_topic_is_not_encrypted_with_the_aws_managed_key(synth: Synth) -> None:
    """CloudWatch cannot publish to a topic under alias/aws/sns: alarms would fire into the void."""
    props = synth.resources[topic_id(synth)]["Properties"]
    assert "alias/aws/sns" not in json.dumps(props.get("KmsMasterKeyId", ""))


def test_outputs_name_the_alarm_topic_and_the_dashboard(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": topic_id(synth)}
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard")
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard}


def dashboard_widgets(synth: Synth) -> list[dict[str, Any]]:
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    # References become <LogicalId> / <LogicalId.Attr> inside the JSON strings of the body.
    return list(json.loads(join_text(dashboard["Properties"]["DashboardBody"]))["widgets"])


def dashboard_metrics(synth: Synth) -> set[tuple[str, ...]]:
    """(namespace, name, dimension name, value, ...) of every metric graphed on the dashboard."""
    graphed = set()
    for widget in dashboard_widgets(synth):
        for metric in widget["properties"].get("metrics", []):
            graphed.add(tuple(part for part in metric if isinstance(part, str)))
    return graphed


def test_dashboard_shows_every_alarm_state(synth: Synth) -> None:
    (status,) = (w for w in dashboard_widgets(synth) if w["type"] == "alarm")
    expected = {f"<{lid}.Arn>" for lid in synth.of_type("AWS::CloudWatch::Alarm")}
    assert set(status["properties"]["alarms"]) == expected


def test_dashboard_graphs_every_alarmed_metric(synth: Synth) -> None:
    graphed = dashboard_metrics(synth)
    for lid, resource in synth.of_type("AWS::CloudWatch::Alarm").items():
        props = resource["Properties"]
        stats = (
            [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
            if "Metrics" in props
            else [props]
        )
        for stat in stats:
            dimensions = [part for d in stat["Dimensions"] for part in (d["Name"], join_text(d["Value"]))]
            assert (stat["Namespace"], stat["MetricName"], *dimensions) in graphed, lid


def test_dashboard_graphs_messages_sent_and_pushes_from_the_functions_emf(synth: Synth) -> None:
    graphed = dashboard_metrics(synth)
    for name in (MESSAGES_SENT, *PUSH_METRICS):
        assert ("Chat", name, "service", "chat") in graphed, name


def test_dashboard_custom_metrics_are_the_ones_the_code_writes() -> None:
    """Names, namespace and dimension the functions use (chat/observability.py, add_metric calls)."""
    assert (METRICS_NAMESPACE, SERVICE_NAME) == (chat.observability.NAMESPACE, chat.observability.SERVICE)
    source = "\n".join(path.read_text() for path in (PROJECT_ROOT / "chat").rglob("*.py"))
    for name in (MESSAGES_SENT, *PUSH_METRICS):
        assert f'add_metric(name="{name}"' in source, name


def test_dashboard_graphs_the_api_traffic_and_its_errors(synth: Synth) -> None:
    graphed = dashboard_metrics(synth)
    api = f"<{synth.logical_id(synth.stack.api.api)}>"
    for name in ("MessageCount", "ConnectCount", "ClientError", "IntegrationError", "ExecutionError"):
        assert ("AWS/ApiGateway", name, "ApiId", api, "Stage", "prod") in graphed, name
