"""Every handler wrapper flushes the metrics of an invocation as EMF when it ends, and stays quiet
(no EMF line, no warning) when the invocation added none."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import functions.authorizer.handler as authorizer
import functions.connect.handler as connect
import functions.disconnect.handler as disconnect
from chat import topology
from chat.api import websocket_handler
from chat.auth import Identity
from chat.observability import NAMESPACE, SERVICE, metrics
from chat.protocol import PongOut
from chat.streams import ordered_stream_handler
from local.events import (
    LOCAL_API,
    authorized_connection,
    authorizer_event,
    connect_event,
    connection_from_handshake,
    disconnect_event,
    message_event,
    scheduled_event,
)
from local.lambdas import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
LAPTOP = authorized_connection("alice", "laptop")


@pytest.fixture(autouse=True)
def no_leftover_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for switch in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        monkeypatch.delenv(switch, raising=False)
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def emf_lines(out: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format documents among the lines written to stdout."""
    documents = []
    for line in out.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            if "_aws" in document:
                documents.append(document)
    return documents


def flushed_metric_names(out: str) -> list[str]:
    return [
        definition["Name"]
        for document in emf_lines(out)
        for directive in document["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    ]


def count(name: str) -> Callable[..., None]:
    """A side effect that adds one to the metric `name`."""

    def add(*args: Any, **kwargs: Any) -> None:
        metrics.add_metric(name=name, unit="Count", value=1)

    return add


def stream_event() -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": {}, "NewImage": {"id": {"S": "x"}}, "SequenceNumber": "100"},
            }
        ]
    }


def test_a_metric_added_by_a_websocket_action_is_flushed_at_the_end_of_the_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def ping(caller: Any, frame: Any) -> PongOut:
        metrics.add_metric(name="PingsAnswered", unit="Count", value=1)
        return PongOut()

    handler = websocket_handler({"ping": ping})
    response = handler(ping_event(), LambdaContext.of("ping"))
    assert json.loads(response["body"])["type"] == "pong"

    (document,) = emf_lines(capsys.readouterr().out)
    assert document["PingsAnswered"] == [1.0]
    assert document["service"] == SERVICE
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "PingsAnswered", "Unit": "Count"}]
    assert metrics.provider.metric_set == {}, "flushed metrics are not carried into the next invocation"


def test_a_metric_added_by_a_stream_record_is_flushed_at_the_end_of_the_batch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = ordered_stream_handler(count("RecordsHandled"))
    assert handler(stream_event(), LambdaContext.of("ping")) == {"batchItemFailures": []}
    assert flushed_metric_names(capsys.readouterr().out) == ["RecordsHandled"]


def test_metrics_are_flushed_even_when_the_invocation_fails(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(change: Any) -> None:
        metrics.add_metric(name="PushAttempts", unit="Count", value=1)
        raise RuntimeError("every record of the batch failed")

    with pytest.raises(Exception, match="All records failed"):
        ordered_stream_handler(fail)(stream_event(), LambdaContext.of("ping"))
    assert flushed_metric_names(capsys.readouterr().out) == ["PushAttempts"]


def ping_event() -> dict[str, Any]:
    return message_event(LOCAL_API, LAPTOP, "ping", json.dumps({"action": "ping"}))


def handshake_event() -> dict[str, Any]:
    return authorizer_event(LOCAL_API, connection_from_handshake("token=t&deviceId=laptop"))


def counted_call(*args: Any) -> Identity:
    """Stands in for what the handler calls (verify_handshake, sessions.connect / disconnect)."""
    metrics.add_metric(name="Calls", unit="Count", value=1)
    return Identity(user_id="alice", device_id="laptop")


@pytest.mark.parametrize(
    ("handler", "module", "dependency", "event"),
    [
        (authorizer.handler, authorizer, "verify_handshake", handshake_event()),
        (connect.handler, connect.sessions, "connect", connect_event(LOCAL_API, LAPTOP)),
        (disconnect.handler, disconnect.sessions, "disconnect", disconnect_event(LOCAL_API, LAPTOP, 1000, "")),
    ],
    ids=["authorizer", "connect", "disconnect"],
)
def test_functions_with_their_own_handler_flush_metrics_too(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    handler: Handler,
    module: Any,
    dependency: str,
    event: dict[str, Any],
) -> None:
    monkeypatch.setattr(module, dependency, counted_call)
    handler(event, LambdaContext.of("ping"))
    assert flushed_metric_names(capsys.readouterr().out) == ["Calls"]


def test_a_scheduled_function_flushes_metrics_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chat import liveness, schedules

    monkeypatch.setattr(liveness, "sweep", lambda deadline: counted_call() and 0)
    handler = schedules.scheduled_handler("sweep")
    assert handler(scheduled_event(LOCAL_API, "chat-sweep"), LambdaContext.of("sweep")) == {"done": 0}
    assert flushed_metric_names(capsys.readouterr().out) == ["Calls"]


def test_an_invocation_that_adds_no_metric_writes_no_emf_and_warns_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = websocket_handler({"ping": lambda caller, frame: PongOut()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler(ping_event(), LambdaContext.of("ping"))
        ordered_stream_handler(lambda change: None)(stream_event(), LambdaContext.of("ping"))
    assert [str(w.message) for w in caught] == []
    assert emf_lines(capsys.readouterr().out) == []


def test_with_metrics_disabled_nothing_is_written_nor_kept_for_the_next_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ordered_stream_handler(count("RecordsHandled"))
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handler(stream_event(), LambdaContext.of("ping"))
    assert emf_lines(capsys.readouterr().out) == []
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    handler(stream_event(), LambdaContext.of("ping"))
    (document,) = emf_lines(capsys.readouterr().out)
    assert document["RecordsHandled"] == [1.0]


def test_concurrent_invocations_in_one_process_write_each_metric_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The local stack runs functions in threads of one process, sharing `metrics`."""

    @metrics.log_metrics
    def invocation(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="Work", unit="Count", value=1)

    failures: list[BaseException] = []

    def invoke_many() -> None:
        try:
            for _ in range(1000):
                invocation({}, None)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=invoke_many) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that an unguarded flush would collide
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    written = sum(sum(document["Work"]) for document in emf_lines(capsys.readouterr().out))
    assert written == 8 * 1000


def test_dimensions_of_an_invocation_without_metrics_do_not_leak_into_the_next(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def dimension_only(caller: Any, frame: Any) -> PongOut:
        metrics.add_dimension(name="route", value="ping")
        return PongOut()

    def metric_only(caller: Any, frame: Any) -> PongOut:
        metrics.add_metric(name="Pongs", unit="Count", value=1)
        return PongOut()

    event = ping_event()
    websocket_handler({"ping": dimension_only})(event, LambdaContext.of("ping"))
    websocket_handler({"ping": metric_only})(event, LambdaContext.of("ping"))
    (document,) = emf_lines(capsys.readouterr().out)
    assert "route" not in document


@pytest.mark.parametrize("spec", topology.FUNCTIONS.values(), ids=lambda f: f.name)
def test_every_topology_handler_is_wrapped_in_log_metrics(spec: topology.Function) -> None:
    """Guards functions added later: the tests above drive each kind of handler, this finds them all.
    Each decorator (functools.wraps) links to what it wraps; log_metrics' wrapper keeps its own code."""
    module, attribute = spec.handler.rsplit(".", 1)
    wrapper: Any = getattr(importlib.import_module(module), attribute)
    layers = []
    while wrapper is not None:
        layers.append(wrapper.__code__.co_qualname)
        wrapper = getattr(wrapper, "__wrapped__", None)
    assert "BaseProvider.log_metrics.<locals>.decorate" in layers
