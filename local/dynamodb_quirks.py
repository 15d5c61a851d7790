"""DynamoDB as it answers in AWS, where moto answers more kindly.

moto serves every BatchGetItem whole, never cuts a Query page at 1 MB, updates a global secondary
index in the same instant as its table, and never cancels a transaction for a conflicting one. AWS
does all four, and code that assumes otherwise loses data there and passes every test here. This
interceptor (on the same botocore hook as the IAM check) reproduces them for the calls a function
makes, each switched on by a setting:

- `unprocessed_keys`: that share of a BatchGetItem's keys (never all) comes back as UnprocessedKeys;
- `query_page_bytes`: a Query page holds items up to that many bytes, then LastEvaluatedKey
  (DynamoDB: 1 MB; a small value makes every paginated read page);
- `index_lag_s`: an index Query sees each item as it was that long ago (a new item not yet, an
  updated one in its old version, a deleted one still);
- `transaction_conflicts`: "alternate" cancels every other TransactWriteItems with a TransactionConflict
  reason (so in a sequential test every transaction is cancelled once, and its retry goes through),
  or a probability.

Locally they come from LOCAL_DDB_UNPROCESSED_KEYS, LOCAL_DDB_QUERY_PAGE_BYTES, LOCAL_DDB_INDEX_LAG_S
and LOCAL_DDB_TRANSACTION_CONFLICTS; tests set them on `quirks`.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chat import topology
from chat.config import table_name
from local import aws_calls
from local.iam import current_invocation

ONE_MB = 1024 * 1024
_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class Quirks:
    unprocessed_keys: float = 0.0
    query_page_bytes: int = ONE_MB
    index_lag_s: float = 0.0
    transaction_conflicts: str = "0"  # "0", "alternate", or a probability such as "0.2"
    seed: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # (table, key) -> (the item as the index still shows it, or None; when it was first changed)
    _index_view: dict[tuple[str, str], tuple[dict[str, Any] | None, float]] = field(default_factory=dict, repr=False)
    _transactions_seen: int = 0
    # What the quirks did, so a test can show it met them.
    conflicts_caused: int = 0
    keys_left_unprocessed: int = 0
    pages_cut: int = 0
    index_items_lagging: int = 0

    @classmethod
    def from_env(cls) -> Quirks:
        quirks = cls(
            unprocessed_keys=float(os.environ.get("LOCAL_DDB_UNPROCESSED_KEYS") or 0),
            query_page_bytes=int(os.environ.get("LOCAL_DDB_QUERY_PAGE_BYTES") or ONE_MB),
            index_lag_s=float(os.environ.get("LOCAL_DDB_INDEX_LAG_S") or 0),
            transaction_conflicts=os.environ.get("LOCAL_DDB_TRANSACTION_CONFLICTS") or "0",
            seed=int(os.environ.get("LOCAL_DDB_SEED") or 0),
        )
        quirks._random = random.Random(quirks.seed)
        return quirks

    def set(self, **settings: Any) -> None:
        """Exactly these settings (the others back to AWS-as-moto defaults), with nothing pending."""
        defaults = Quirks()
        with self._lock:
            for name in ("unprocessed_keys", "query_page_bytes", "index_lag_s", "transaction_conflicts", "seed"):
                setattr(self, name, settings.pop(name, getattr(defaults, name)))
            if settings:
                raise TypeError(f"unknown settings {sorted(settings)}")
            self._random = random.Random(self.seed)
            self._index_view.clear()
            self._transactions_seen = 0
            self.conflicts_caused = self.keys_left_unprocessed = self.pages_cut = self.index_items_lagging = 0

    def catch_up_indexes(self) -> None:
        """As if the index lag had passed: every index shows its table as it is now."""
        with self._lock:
            self._index_view.clear()

    @property
    def active(self) -> list[str]:
        on = []
        if self.unprocessed_keys:
            on.append(f"unprocessed_keys={self.unprocessed_keys}")
        if self.query_page_bytes != ONE_MB:
            on.append(f"query_page_bytes={self.query_page_bytes}")
        if self.index_lag_s:
            on.append(f"index_lag_s={self.index_lag_s}")
        if self.transaction_conflicts not in ("0", ""):
            on.append(f"transaction_conflicts={self.transaction_conflicts}")
        return on

    # ---- the interceptor ----------------------------------------------------------------------------

    def __call__(self, service: str, operation: str, params: dict[str, Any], call: aws_calls.Call) -> Any:
        if service != "dynamodb" or current_invocation() is None:
            return call(operation, params)
        if operation == "BatchGetItem" and self.unprocessed_keys > 0:
            return self._batch_get(params, call)
        if operation == "TransactWriteItems":
            self._maybe_conflict(params)
        if operation in _WRITES and self.index_lag_s > 0:
            return self._write_behind_index(operation, params, call)
        if operation == "Query" and params.get("IndexName") and self.index_lag_s > 0:
            return self._cut(params, self._lagging_index_query(params, call))
        if operation == "Query":
            return self._cut(params, call(operation, params))
        return call(operation, params)

    # ---- BatchGetItem: UnprocessedKeys --------------------------------------------------------------

    def _batch_get(self, params: dict[str, Any], call: aws_calls.Call) -> Any:
        requested = [(table, key) for table, spec in params["RequestItems"].items() for key in spec["Keys"]]
        keep = max(1, int(len(requested) * (1 - self.unprocessed_keys)))
        with self._lock:
            self._random.shuffle(requested)
            processed, unprocessed = requested[:keep], requested[keep:]
            self.keys_left_unprocessed += len(unprocessed)

        def group(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            grouped: dict[str, Any] = {}
            for table, key in pairs:
                grouped.setdefault(table, {**params["RequestItems"][table], "Keys": []})["Keys"].append(key)
            return grouped

        response = call("BatchGetItem", {**params, "RequestItems": group(processed)})
        left = group(unprocessed)
        for table, spec in (response.get("UnprocessedKeys") or {}).items():
            left.setdefault(table, {**spec, "Keys": []})["Keys"].extend(spec["Keys"])
        response["UnprocessedKeys"] = left
        return response

    # ---- Query: pages of at most query_page_bytes ---------------------------------------------------

    def _cut(self, params: dict[str, Any], response: Any) -> Any:
        items = response.get("Items", [])
        size, kept = 0, 0
        for item in items:
            size += _item_size(item)
            if size > self.query_page_bytes and kept > 0:
                break
            kept += 1
        if kept < len(items):
            with self._lock:
                self.pages_cut += 1
            response["Items"] = items[:kept]
            response["Count"] = kept
            response["LastEvaluatedKey"] = _page_key(params, items[kept - 1])
        return response

    # ---- index lag ----------------------------------------------------------------------------------

    def _write_behind_index(self, operation: str, params: dict[str, Any], call: aws_calls.Call) -> Any:
        touched = [(t, k) for t, k in _written_keys(operation, params) if _indexes_of(t)]
        added = []
        now = time.monotonic()
        for table, key in touched:
            slot = (table, json.dumps(key, sort_keys=True))
            with self._lock:
                current = self._index_view.get(slot)
                if current is not None and now - current[1] < self.index_lag_s:
                    continue
            before = call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
            with self._lock:
                self._index_view[slot] = (before, now)
            added.append(slot)
        try:
            return call(operation, params)
        except ClientError:
            with self._lock:  # nothing was written: the index has nothing to catch up with
                for slot in added:
                    self._index_view.pop(slot, None)
            raise

    def _lagging_index_query(self, params: dict[str, Any], call: aws_calls.Call) -> Any:
        table, index_name = params["TableName"], params["IndexName"]
        index = next(i for i in _indexes_of(table) if i.name == index_name)
        if params.get("FilterExpression"):
            raise NotImplementedError("the index-lag emulation does not evaluate filter expressions")
        (attribute, value), sort_condition = _key_conditions(params)
        if attribute != index.partition.name:
            raise NotImplementedError(f"index query not on {index.partition.name}: {params['KeyConditionExpression']}")
        response = call("Query", params)
        now = time.monotonic()
        with self._lock:
            lagging = {
                slot: image
                for slot, (image, changed_at) in self._index_view.items()
                if slot[0] == table and now - changed_at < self.index_lag_s
            }
        keys = _key_names(table)
        items = [i for i in response.get("Items", []) if (table, _key_text(i, keys)) not in lagging]
        with self._lock:
            self.index_items_lagging += len(response.get("Items", [])) - len(items)
        items += [
            image
            for image in lagging.values()
            if image is not None and image.get(attribute) == value and sort_condition(image)
        ]
        sort = index.sort.name if index.sort else None
        if sort:
            items.sort(key=lambda i: _sortable(i.get(sort)), reverse=params.get("ScanIndexForward") is False)
        response["Items"], response["Count"] = items, len(items)
        return response

    # ---- TransactionConflict ------------------------------------------------------------------------

    def _maybe_conflict(self, params: dict[str, Any]) -> None:
        mode = self.transaction_conflicts
        if mode in ("0", ""):
            return
        with self._lock:
            if mode == "alternate":
                conflict = self._transactions_seen % 2 == 0
                self._transactions_seen += 1
            else:
                conflict = self._random.random() < float(mode)
            victim = self._random.randrange(len(params["TransactItems"]))
            self.conflicts_caused += conflict
        if not conflict:
            return
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if i == victim
            else {"Code": "None"}
            for i in range(len(params["TransactItems"]))
        ]
        codes = ", ".join(r["Code"] for r in reasons)
        response: Any = {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            },
            "CancellationReasons": reasons,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        raise ClientError(response, "TransactWriteItems")


# ---- helpers ----------------------------------------------------------------------------------------


def _table_by_name(name: str) -> topology.Table | None:
    return next((t for t in topology.TABLES.values() if table_name(t) == name), None)


def _indexes_of(name: str) -> tuple[topology.Index, ...]:
    table = _table_by_name(name)
    return table.indexes if table else ()


def _key_names(name: str) -> list[str]:
    table = _table_by_name(name)
    if table is None:
        raise KeyError(f"no topology table is named {name}")
    return [table.partition.name, *([table.sort.name] if table.sort else [])]


def _key_text(item: dict[str, Any], keys: list[str]) -> str:
    return json.dumps({k: item[k] for k in keys}, sort_keys=True)


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in _key_names(table)}

    if operation == "PutItem":
        return [(params["TableName"], key_of(params["TableName"], params["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"])]
    found = []
    if operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    found.append((table, key_of(table, request["PutRequest"]["Item"])))
                else:
                    found.append((table, request["DeleteRequest"]["Key"]))
    if operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            if kind == "Put":
                found.append((body["TableName"], key_of(body["TableName"], body["Item"])))
            elif kind in ("Update", "Delete"):
                found.append((body["TableName"], body["Key"]))
    return found


_EQUALS = re.compile(r"^\(?\s*(#?\w+)\s*=\s*(:\w+)\s*\)?$")
_EQUALS_AND_SORT = re.compile(r"^\(?\s*(#?\w+)\s*=\s*(:\w+)\s+AND\s+(#?\w+)\s*(<=|<|>=|>|=)\s*(:\w+)\s*\)?$")
_COMPARE = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "=": lambda a, b: a == b,
}


def _key_conditions(params: dict[str, Any]) -> tuple[tuple[str, Any], Callable[[dict[str, Any]], bool]]:
    """The index partition key's (attribute, value), and a test of an item against the sort key's
    condition, from `#0 = :0` or `#0 = :0 AND #1 <= :1` (the forms our code queries)."""
    expression = params["KeyConditionExpression"].strip()
    names = params.get("ExpressionAttributeNames", {})
    values = params["ExpressionAttributeValues"]
    match = _EQUALS.match(expression)
    if match is not None:
        name, placeholder = match.groups()
        return (names.get(name, name), values[placeholder]), lambda item: True
    match = _EQUALS_AND_SORT.match(expression)
    if match is None:
        raise NotImplementedError(
            f"the index-lag emulation only reads `key = :value [AND sort <op> :value]`, not {expression!r}"
        )
    name, placeholder, sort_name, operator, sort_placeholder = match.groups()
    sort_attribute, bound = names.get(sort_name, sort_name), _sortable(values[sort_placeholder])
    compare = _COMPARE[operator]

    def sort_condition(item: dict[str, Any]) -> bool:
        return sort_attribute in item and compare(_sortable(item[sort_attribute]), bound)

    return (names.get(name, name), values[placeholder]), sort_condition


def _sortable(value: dict[str, Any] | None) -> tuple[int, Any]:
    if not value:
        return (0, "")
    ((kind, raw),) = value.items()
    return (1, float(raw)) if kind == "N" else (1, raw)


def _item_size(item: dict[str, Any]) -> int:
    """Roughly what DynamoDB counts: attribute names and values, in bytes."""
    return len(json.dumps(item, separators=(",", ":")).encode("utf-8"))


def _page_key(params: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    table = params["TableName"]
    names = _key_names(table)
    index_name = params.get("IndexName")
    if index_name:
        index = next(i for i in _indexes_of(table) if i.name == index_name)
        names += [index.partition.name, *([index.sort.name] if index.sort else [])]
    return {name: last[name] for name in dict.fromkeys(names) if name in last}


quirks = Quirks.from_env()
INTERCEPTOR = "dynamodb-quirks"


def install() -> Quirks:
    """Puts the behaviours on the botocore hook (after the IAM check); settings stay as they are."""
    aws_calls.install(INTERCEPTOR, quirks)
    return quirks
