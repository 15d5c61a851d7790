"""The cost meter: what the functions ask of AWS, counted in what AWS bills, while the stack runs.

Switched on with LOCAL_COST_METER=1 (the stack's `/dev/costs` then answers its counters) or `start()`
in-process. It counts, by function:

- every AWS request a function makes (an interceptor on the botocore hook, `local/aws_calls.py`,
  right after the IAM check: what IAM refuses never leaves, so it is not counted);
- DynamoDB read and write request units, computed from the items' sizes with DynamoDB's rules
  (`local/capacity.py`; moto's own ConsumedCapacity figures are fixed whatever the size, and are
  kept beside them as `moto_units` to show it). Every request that accepts it is sent with
  ReturnConsumedCapacity=TOTAL. To size what a request read or wrote the meter reads the items
  itself, beside the request (a write: the item before and after; a projected or filtered read:
  the items read in full), straight from moto: those reads are not counted. Requests to the same
  item at the same moment from two invocations can blur the before/after images; a path measured
  one step at a time has none;
- API Gateway messages: each frame a client sends (one per 32 KB), each route reply and each
  @connections POST that reached a socket (a POST answered 410 delivers nothing);
- Lambda invocations, their duration and GB-seconds (duration rounded up to the millisecond, times
  the function's memory): the duration is the handler's on this machine, where every function, moto
  and the gateway share one Python process; an approximation of Lambda's, no more;
- log bytes CloudWatch Logs would ingest: what the functions log and their EMF metric lines,
  measured, plus an estimate of Lambda's START/END/REPORT lines and of API Gateway's access log line
  per frame and per connection event.

Counters are flat (`"metric|function|..."` -> number), so two snapshots subtract (`difference`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from chat.topology import TABLES, Table
from local import aws_calls, capacity
from local.iam import current_invocation

log = logging.getLogger("local.costs")

ENV_COST_METER = "LOCAL_COST_METER"
INTERCEPTOR = "cost-meter"
MESSAGE_UNIT_BYTES = 32 * 1024
# Lambda's own lines per invocation (START, END, REPORT with its figures): about this many bytes.
PLATFORM_LOG_BYTES = 260
# One line of the stage's access log (infrastructure/websocket_api.py's format, typical values).
ACCESS_LOG_BYTES = 330

# DynamoDB operations that take ReturnConsumedCapacity.
CAPACITY_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)

Call = aws_calls.Call
Counters = dict[str, float]


def counter(*parts: str) -> str:
    return "|".join(parts)


def parts_of(key: str) -> list[str]:
    return key.split("|")


def difference(after: Mapping[str, float], before: Mapping[str, float]) -> Counters:
    """What happened between two snapshots' counters."""
    found = {key: value - before.get(key, 0.0) for key, value in after.items()}
    return {key: value for key, value in found.items() if abs(value) > 1e-12}


def message_units(size: int) -> int:
    """API Gateway meters WebSocket messages in 32 KB increments."""
    return max(1, math.ceil(size / MESSAGE_UNIT_BYTES))


def _key_text(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def _placeholders(expression: str | None) -> tuple[set[str], set[str]]:
    if not expression:
        return set(), set()
    return set(re.findall(r"#[A-Za-z0-9_]+", expression)), set(re.findall(r":[A-Za-z0-9_]+", expression))


def _reported_units(response: Any) -> float:
    consumed = response.get("ConsumedCapacity") if isinstance(response, dict) else None
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    return float(sum(entry.get("CapacityUnits", 0) for entry in entries if isinstance(entry, dict)))


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Meter:
    """The counters, and the hooks that feed them (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: defaultdict[str, float] = defaultdict(float)
        self._in_flight = 0
        self._last_change = time.monotonic()
        # The meter's own reads, by invocation and thread: time taken off the invocation's duration.
        self._overhead: dict[int, defaultdict[int, float]] = {}

    # ---------------------------------------------------------------- reading

    def snapshot(self) -> dict[str, Any]:
        """The counters, how many invocations are running and how long nothing was counted."""
        with self._lock:
            return {
                "counters": dict(self._counters),
                "in_flight": self._in_flight,
                "idle_s": time.monotonic() - self._last_change,
            }

    def add(self, key: str, amount: float = 1.0, activity: bool = True) -> None:
        with self._lock:
            self._counters[key] += amount
            if activity:
                self._last_change = time.monotonic()

    # ---------------------------------------------------------------- API Gateway (local/gateway.py)

    def frame_in(self, route: str, size: int) -> None:
        """A frame a client sent on an open connection, routed to `route`."""
        self.add(counter("frames_in", route))
        self.add(counter("messages_in", route), message_units(size))
        self.add(counter("log_bytes", "api-gateway"), ACCESS_LOG_BYTES)

    def reply_out(self, function: str, size: int) -> None:
        """A route's reply, sent back on the connection by API Gateway."""
        self.add(counter("messages_out", function, "reply"), message_units(size))

    def connection_event(self, kind: str) -> None:
        """$connect or $disconnect (billed as connection minutes, not messages; access-logged)."""
        self.add(counter("connection_events", kind))
        self.add(counter("log_bytes", "api-gateway"), ACCESS_LOG_BYTES)

    # ---------------------------------------------------------------- Lambda (local/lambdas.py)

    @contextlib.contextmanager
    def invocation(self, function: str, memory_mb: int) -> Iterator[None]:
        """Around one invocation's handler: counts it, its duration and its GB-seconds."""
        invocation = current_invocation()
        key = id(invocation)
        with self._lock:
            self._in_flight += 1
            self._last_change = time.monotonic()
            self._overhead[key] = defaultdict(float)
        started = time.perf_counter()
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with self._lock:
                overhead: Mapping[int, float] = self._overhead.pop(key, {})
            # The meter's reads in the invocation's thread, and in its pool threads (which overlap: the
            # longest of them), are not the function's time.
            own = overhead.get(threading.get_ident(), 0.0)
            pooled = max((v for t, v in overhead.items() if t != threading.get_ident()), default=0.0)
            elapsed_ms = max(0.0, (time.perf_counter() - started - own - pooled) * 1000)
            billed_ms = max(1, math.ceil(elapsed_ms))
            self.add(counter("invocations", function))
            self.add(counter("duration_ms", function), elapsed_ms)
            self.add(counter("gb_s", function), billed_ms / 1000 * memory_mb / 1024)
            self.add(counter("log_bytes", function), PLATFORM_LOG_BYTES)
            if failed:
                self.add(counter("invocation_errors", function))
            with self._lock:
                self._in_flight -= 1
                self._last_change = time.monotonic()

    @contextlib.contextmanager
    def own_work(self) -> Iterator[None]:
        """Around the meter's own reads: their time is not the invocation's."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            invocation = current_invocation()
            with self._lock:
                spent = self._overhead.get(id(invocation))
                if spent is not None:
                    spent[threading.get_ident()] += elapsed

    # ---------------------------------------------------------------- AWS requests (local/aws_calls.py)

    def intercept(self, service: str, operation: str, params: dict[str, Any], call: Call) -> Any:
        invocation = current_invocation()
        if invocation is None:
            return call(operation, params)  # the stack's own set-up and housekeeping: no function's cost
        function = invocation.function
        # Stream reads by Lambda's event source mapping are free, and their number here is the local
        # poller's, not Lambda's: counted apart, and not as activity.
        self.add(counter("request", function, service, operation), activity=service != "dynamodbstreams")
        if service == "dynamodb":
            return _DynamoDB(self, function, call).request(operation, params)
        if service == "apigatewaymanagementapi" and operation == "PostToConnection":
            data = params.get("Data", b"")
            size = len(data) if isinstance(data, bytes | bytearray) else len(str(data).encode("utf-8"))
            try:
                response = call(operation, params)
            except ClientError as exc:
                self.add(counter("posts_failed", function, _error_code(exc) or "error"))
                raise
            self.add(counter("messages_out", function, "post"), message_units(size))
            return response
        return call(operation, params)

    # ---------------------------------------------------------------- logs (chat/observability.py)

    def log_line(self, size: int) -> None:
        invocation = current_invocation()
        if invocation is not None:
            self.add(counter("log_bytes", invocation.function), size + 1)  # and its newline


def _tables() -> dict[str, Table]:
    """Local table name -> its topology table (the names the functions were given)."""
    return {os.environ[t.env]: t for t in TABLES.values() if os.environ.get(t.env)}


class _DynamoDB:
    """One DynamoDB request of one function: passed on, then its units computed and counted."""

    def __init__(self, meter: Meter, function: str, call: Call) -> None:
        self.meter = meter
        self.function = function
        self.call = call
        self.tables = _tables()

    def label(self, table_name: str, index: str | None = None) -> str:
        spec = self.tables.get(table_name)
        name = spec.logical_name if spec else table_name
        return f"{name}/{index}" if index else name

    def charge(self, kind: str, operation: str, label: str, units: float) -> None:
        self.meter.add(counter(kind, self.function, operation, label), units)

    def request(self, operation: str, params: dict[str, Any]) -> Any:
        if operation in CAPACITY_OPERATIONS and "ReturnConsumedCapacity" not in params:
            params = {**params, "ReturnConsumedCapacity": "TOTAL"}
        handler: Callable[[str, dict[str, Any]], Any] | None = {
            "GetItem": self.get_item,
            "BatchGetItem": self.batch_get,
            "TransactGetItems": self.transact_get,
            "Query": self.query,
            "Scan": self.query,
            "PutItem": self.write,
            "UpdateItem": self.write,
            "DeleteItem": self.write,
            "BatchWriteItem": self.batch_write,
            "TransactWriteItems": self.transact_write,
        }.get(operation)
        if handler is None:
            return self.call(operation, params)  # DescribeTable and the like: no units
        response = handler(operation, params)
        reported = _reported_units(response)
        if reported:
            self.meter.add(counter("moto_units", self.function, operation), reported, activity=False)
        return response

    # ---------------------------------------------------------------- items as they are

    def own(self, operation: str, params: dict[str, Any]) -> Any:
        """A read of the meter's own (not counted, not the invocation's time)."""
        with self.meter.own_work():
            return self.call(operation, params)

    def peek(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The whole item now."""
        try:
            response = self.own("GetItem", {"TableName": table, "Key": dict(key), "ConsistentRead": True})
        except ClientError:
            return None  # the request itself will fail the same way
        item: dict[str, Any] | None = response.get("Item")
        return item

    def peek_many(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """The whole items now, in the order of `keys` (None where there is none)."""
        spec = self.tables.get(table)
        if spec is None:
            return [self.peek(table, k) for k in keys]
        found: dict[str, dict[str, Any]] = {}
        for first in range(0, len(keys), 100):
            pending: list[dict[str, Any]] = keys[first : first + 100]
            while pending:
                response = self.own(
                    "BatchGetItem", {"RequestItems": {table: {"Keys": pending, "ConsistentRead": True}}}
                )
                for item in response.get("Responses", {}).get(table, []):
                    found[_key_text(capacity.key_of(spec, item))] = item
                pending = (response.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", [])
        return [found.get(_key_text(k)) for k in keys]

    def key_in(self, table: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        if "Key" in body:
            return dict(body["Key"])
        spec = self.tables.get(table)
        return capacity.key_of(spec, body["Item"]) if spec and "Item" in body else None

    def charge_write(
        self,
        operation: str,
        table: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        transactional: bool = False,
        check_only: bool = False,
    ) -> None:
        size = capacity.item_size(before) if check_only else max(capacity.item_size(before), capacity.item_size(after))
        self.charge("wru", operation, self.label(table), capacity.write_units(size, transactional))
        spec = self.tables.get(table)
        if spec is None or check_only:
            return
        for write in capacity.index_writes(spec, before, after):
            self.charge("wru", operation, self.label(table, write.index), write.units)

    # ---------------------------------------------------------------- reads

    def get_item(self, operation: str, params: dict[str, Any]) -> Any:
        response = self.call(operation, params)
        item = response.get("Item")
        if "ProjectionExpression" in params or "AttributesToGet" in params:
            item = self.peek(params["TableName"], params["Key"])
        consistent = bool(params.get("ConsistentRead"))
        units = capacity.read_units(capacity.item_size(item), consistent)
        self.charge("rru", operation, self.label(params["TableName"]), units)
        return response

    def batch_get(self, operation: str, params: dict[str, Any]) -> Any:
        response = self.call(operation, params)
        unprocessed = response.get("UnprocessedKeys") or {}
        for table, request in params["RequestItems"].items():
            left = {_key_text(k) for k in unprocessed.get(table, {}).get("Keys", [])}
            keys = [k for k in request["Keys"] if _key_text(k) not in left]
            spec = self.tables.get(table)
            returned = response.get("Responses", {}).get(table, [])
            projected = "ProjectionExpression" in request or "AttributesToGet" in request
            if spec is not None and not projected:
                by_key = {_key_text(capacity.key_of(spec, item)): item for item in returned}
                sizes = [capacity.item_size(by_key.get(_key_text(k))) for k in keys]
            else:
                sizes = [capacity.item_size(item) for item in self.peek_many(table, keys)]
            consistent = bool(request.get("ConsistentRead"))
            units = sum(capacity.read_units(size, consistent) for size in sizes)
            self.charge("rru", operation, self.label(table), units)
        return response

    def transact_get(self, operation: str, params: dict[str, Any]) -> Any:
        response = self.call(operation, params)
        for entry in params["TransactItems"]:
            get = entry["Get"]
            size = capacity.item_size(self.peek(get["TableName"], get["Key"]))
            self.charge("rru", operation, self.label(get["TableName"]), capacity.read_units(size, True, True))
        return response

    def query(self, operation: str, params: dict[str, Any]) -> Any:
        response = self.call(operation, params)
        items: list[dict[str, Any]] = response.get("Items", [])
        narrowed = {"FilterExpression", "QueryFilter", "ScanFilter", "ProjectionExpression", "AttributesToGet"}
        if narrowed & params.keys() or params.get("Select") in ("COUNT", "SPECIFIC_ATTRIBUTES"):
            # Billed for every item read, before the filter and the projection: read them again whole.
            items = self.own(operation, _unnarrowed(params)).get("Items", [])
        index = params.get("IndexName")
        consistent = bool(params.get("ConsistentRead")) and index is None
        units = capacity.read_units(sum(capacity.item_size(item) for item in items), consistent)
        self.charge("rru", operation, self.label(params["TableName"], index), units)
        return response

    # ---------------------------------------------------------------- writes

    def write(self, operation: str, params: dict[str, Any]) -> Any:
        table = params["TableName"]
        key = self.key_in(table, params)
        before = self.peek(table, key) if key is not None else None
        try:
            response = self.call(operation, params)
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                self.charge_write(operation, table, before, None, check_only=True)
                self.meter.add(counter("refused_writes", self.function, operation, self.label(table)))
            raise
        after = self.peek(table, key) if key is not None else params.get("Item")
        self.charge_write(operation, table, before, after)
        return response

    def batch_write(self, operation: str, params: dict[str, Any]) -> Any:
        planned: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str]] = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                body = request.get("PutRequest") or request.get("DeleteRequest") or {}
                key = self.key_in(table, body)
                text = _key_text(key) if key is not None else ""
                planned.append((table, key, self.peek(table, key) if key is not None else None, text))
        response = self.call(operation, params)
        left: set[tuple[str, str]] = set()
        for table, requests in (response.get("UnprocessedItems") or {}).items():
            for request in requests:
                body = request.get("PutRequest") or request.get("DeleteRequest") or {}
                key = self.key_in(table, body)
                left.add((table, _key_text(key) if key is not None else ""))
        for table, key, before, text in planned:
            if (table, text) in left:
                continue
            after = self.peek(table, key) if key is not None else None
            self.charge_write(operation, table, before, after)
        return response

    def transact_write(self, operation: str, params: dict[str, Any]) -> Any:
        planned = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            table = body["TableName"]
            key = self.key_in(table, body)
            planned.append((kind, table, key, self.peek(table, key) if key is not None else None))
        try:
            response = self.call(operation, params)
        except ClientError as exc:
            if _error_code(exc) == "TransactionCanceledException":
                # Assumed billed as if every item were written as it is (DynamoDB bills cancelled
                # transactions; how much is not documented item by item).
                for _, table, _, before in planned:
                    self.charge_write(operation, table, before, None, transactional=True, check_only=True)
                self.meter.add(counter("cancelled_transactions", self.function))
            raise
        for kind, table, key, before in planned:
            check_only = kind == "ConditionCheck"
            after = before if check_only or key is None else self.peek(table, key)
            self.charge_write(operation, table, before, after, transactional=True, check_only=check_only)
        return response


def _unnarrowed(params: dict[str, Any]) -> dict[str, Any]:
    """A Query or Scan reading the same items, whole: no filter, no projection, no COUNT."""
    dropped = {
        "FilterExpression",
        "QueryFilter",
        "ScanFilter",
        "ConditionalOperator",
        "ProjectionExpression",
        "AttributesToGet",
        "Select",
        "ReturnConsumedCapacity",
    }
    request = {k: v for k, v in params.items() if k not in dropped}
    names, values = _placeholders(params.get("KeyConditionExpression"))
    if "ExpressionAttributeNames" in request:
        request["ExpressionAttributeNames"] = {
            k: v for k, v in request["ExpressionAttributeNames"].items() if k in names
        } or None
    if "ExpressionAttributeValues" in request:
        request["ExpressionAttributeValues"] = {
            k: v for k, v in request["ExpressionAttributeValues"].items() if k in values
        } or None
    return {k: v for k, v in request.items() if v is not None}


# ---- switching it on ---------------------------------------------------------------------------------

_active: Meter | None = None
_log_handler: logging.Handler | None = None
_emf_wrapped: tuple[Any, Any] | None = None


def active() -> Meter | None:
    """The running meter, or None (the gateway and the functions feed it only when there is one)."""
    return _active


def start(meter: Meter | None = None) -> Meter:
    """Counts from now on, in this process: AWS requests, and (through `active`) frames and invocations."""
    global _active
    meter = _active = meter or Meter()
    names = aws_calls.installed()
    position = names.index("iam") + 1 if "iam" in names else 0
    aws_calls.install(INTERCEPTOR, lambda s, o, p, c: _intercept(s, o, p, c), position=position)
    _count_logs(meter)
    return meter


def _intercept(service: str, operation: str, params: dict[str, Any], call: Call) -> Any:
    meter = _active
    return call(operation, params) if meter is None else meter.intercept(service, operation, params, call)


def stop() -> None:
    global _active, _log_handler, _emf_wrapped
    _active = None
    aws_calls.remove(INTERCEPTOR)
    if _log_handler is not None:
        logging.getLogger("chat").removeHandler(_log_handler)
        _log_handler = None
    if _emf_wrapped is not None:
        provider, original = _emf_wrapped
        provider.serialize_metric_set = original
        _emf_wrapped = None


def start_from_env() -> Meter | None:
    """`start()` if LOCAL_COST_METER is set (the local stack calls it)."""
    value = os.environ.get(ENV_COST_METER, "").strip().lower()
    return start() if value not in ("", "0", "false", "no", "off") else None


class _CountingHandler(logging.Handler):
    """Measures each record the functions log as the Powertools logger writes it."""

    def __init__(self, meter: Meter, format_line: Callable[[logging.LogRecord], str]) -> None:
        super().__init__()
        self.meter = meter
        self.format_line = format_line

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.meter.log_line(len(self.format_line(record).encode("utf-8")))


def _count_logs(meter: Meter) -> None:
    """What the functions log (chat.observability's logger) and their EMF lines, measured."""
    global _log_handler, _emf_wrapped
    try:
        from chat.observability import logger, metrics
    except Exception:  # the functions' dependencies are missing: no logs to count
        log.warning("cost meter: chat.observability not importable; function logs not counted")
        return
    formatter = logger.registered_formatter
    _log_handler = _CountingHandler(meter, formatter.format)
    logging.getLogger("chat").addHandler(_log_handler)
    provider = metrics.provider
    original = provider.serialize_metric_set

    def serialize(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with contextlib.suppress(Exception):
            meter.log_line(len(json.dumps(result, separators=(",", ":"))))
        return result

    provider.serialize_metric_set = serialize  # type: ignore[method-assign]
    _emf_wrapped = (provider, original)


def totals(counters: Mapping[str, float], metric: str, where: Callable[[list[str]], bool] | None = None) -> float:
    """The sum of one metric's counters (those whose parts pass `where`)."""
    return sum(
        value
        for key, value in counters.items()
        if (parts := parts_of(key))[0] == metric and (where is None or where(parts[1:]))
    )


def by(counters: Mapping[str, float], metric: str, *positions: int) -> dict[tuple[str, ...], float]:
    """One metric's counters summed by the parts at `positions` (1: the function, ...)."""
    found: defaultdict[tuple[str, ...], float] = defaultdict(float)
    for key, value in counters.items():
        parts = parts_of(key)
        if parts[0] == metric:
            found[tuple(parts[p] if p < len(parts) else "" for p in positions)] += value
    return dict(found)
