"""What each function's DynamoDB calls cost, counted on the botocore hook (local/aws_calls.py).

Every DynamoDB request is sent with `ReturnConsumedCapacity=TOTAL` (PynamoDB asks for it already) and
the `ConsumedCapacity` moto answers is summed per function. moto's figures are flat (a GetItem 0.5, a
Query 1 whatever it returns, a BatchGetItem 1 per key), so the counter also prices every read as
DynamoDB does, from the items the call returned: a GetItem or each item of a BatchGetItem rounded up to
4 KB, a Query's items together rounded up to 4 KB (at least one unit), half of that for an eventually
consistent read. Writes are counted as requests and items written (their units depend on the item's
size before and after, which a response does not show).

    counter = CapacityCounter()
    with counter.installed():
        ...  # invoke functions (local.iam.acting_as says which)
    counter.of("sync").read_units
"""

from __future__ import annotations

import base64
import contextlib
import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local import aws_calls
from local.iam import current_invocation

INTERCEPTOR = "capacity-counter"
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READ_UNIT_BYTES = 4096


@dataclass
class Cost:
    """One function's DynamoDB calls: requests by operation, read units (DynamoDB's rules and moto's
    answer), items written."""

    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    read_units: float = 0.0
    moto_read_units: float = 0.0
    items_written: int = 0

    @property
    def read_requests(self) -> int:
        return sum(n for op, n in self.requests.items() if op in _READS)

    @property
    def write_requests(self) -> int:
        return sum(n for op, n in self.requests.items() if op in _WRITES)


class CapacityCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.costs: dict[str, Cost] = defaultdict(Cost)

    def of(self, function: str) -> Cost:
        with self._lock:
            return self.costs[function]

    def reset(self) -> None:
        with self._lock:
            self.costs.clear()

    @contextlib.contextmanager
    def installed(self) -> Iterator[CapacityCounter]:
        aws_calls.install(INTERCEPTOR, self)
        try:
            yield self
        finally:
            aws_calls.remove(INTERCEPTOR)

    def __call__(self, service: str, operation: str, params: dict[str, Any], call: aws_calls.Call) -> Any:
        invocation = current_invocation()
        if service != "dynamodb" or invocation is None or operation not in _READS | _WRITES:
            return call(operation, params)
        response = call(operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
        with self._lock:
            cost = self.costs[invocation.function]
            cost.requests[operation] += 1
            if operation in _READS:
                cost.read_units += read_units(operation, params, response)
                cost.moto_read_units += _consumed(response)
            else:
                cost.items_written += _items_written(operation, params)
        return response


def _consumed(response: dict[str, Any]) -> float:
    consumed = response.get("ConsumedCapacity") or []
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0) for c in consumed))


def _items_written(operation: str, params: dict[str, Any]) -> int:
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in params["RequestItems"].values())
    if operation == "TransactWriteItems":
        return len(params["TransactItems"])
    return 1


def read_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    """What DynamoDB bills a read, from what it returned (items as stored: our reads project nothing)."""
    if operation == "GetItem":
        units = _units(item_size(response["Item"])) if "Item" in response else 1
        return units * _factor(params.get("ConsistentRead"))
    if operation == "BatchGetItem":
        total = 0.0
        for table, spec in params["RequestItems"].items():
            found = response.get("Responses", {}).get(table, [])
            unprocessed = len((response.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", []))
            missing = max(0, len(spec["Keys"]) - len(found) - unprocessed)
            units = sum(_units(item_size(item)) for item in found) + missing
            total += units * _factor(spec.get("ConsistentRead"))
        return total
    if operation == "TransactGetItems":
        return 2.0 * sum(_units(item_size(r.get("Item") or {})) for r in response.get("Responses", []))
    # Query and Scan: the items read, together, rounded up to 4 KB.
    size = sum(item_size(item) for item in response.get("Items", []))
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * _factor(params.get("ConsistentRead"))


def _units(size: int) -> int:
    return max(1, math.ceil(size / READ_UNIT_BYTES))


def _factor(consistent: Any) -> float:
    return 1.0 if consistent else 0.5


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names and values, in bytes."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(raw if isinstance(raw, bytes) else base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b if isinstance(b, bytes) else base64.b64decode(b)) for b in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(raw: str) -> int:
    digits = len(raw.strip("-").replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1
