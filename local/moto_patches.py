"""Five changes to moto (5.2.x), for the local stack's moto server and for the tests' in-process moto
alike (`apply` / `restore`, counted, so both may hold them at once), and one fault.

Requests one at a time. moto's backends are not thread-safe: two concurrent conditional writes
can both pass their condition. Real DynamoDB makes each request atomic, and the send path depends
on it (seq allocation, idempotency records), so every request moto answers - over HTTP or
in-process, whatever the service - runs its action under one lock (`LOCK`). moto answers in well
under a millisecond, so the lock costs nothing noticeable.

Cheap, shard-preserving transaction rollback. moto's `transact_write_items` deep-copies every
table a transaction touches before applying it, and on a cancelled transaction puts the copies
back in place of the tables. Two consequences:

- cost: each transaction copies whole tables, stream records included; sends take 0.1 s on an
  empty table and ~1 s once a table holds a thousand items, so the local stack slows down the
  longer it runs;
- streams: a cancelled transaction (routine under contention: a lost race on lastSeq) swaps in
  copied tables with copied stream shards, so every shard iterator handed out before it
  reads a shard that no longer receives records - the stream goes silent.

This version applies the same checks in the same order, but backs up only the items it touches
and, on cancellation, restores them and drops the stream records it added. Requests are
serialized (above), so nothing else runs in between.

Queries that look at one partition, not the whole table (`_query_one_partition`), and item calls
answered without moto's generic serializer: the same JSON, several times faster (see
`_dynamodb_serialized`); it was most of the local stack's time.

Throttling, as a fault (`ddb.throttle` in chat/faults.py): an item read or write answered with
DynamoDB's 400 ProvisionedThroughputExceededException before moto applies anything. It is answered
here, below botocore, so the SDK's own retries meet it (and absorb it) as they do in AWS.

CORS on a POST upload. S3 answers a browser's form POST (a presigned upload) with the bucket's CORS
headers, as it does a GET; moto leaves them out of that one answer, so a page's `fetch` would see the
upload fail although it was stored (`_bucket_post_with_cors`).
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import threading
from typing import Any

from moto.core.responses import TYPE_RESPONSE, ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.s3.responses import S3Response

from chat import faults

# Held while moto answers a request; hold it to change moto's state from outside a request.
LOCK = threading.RLock()

_original_transact = DynamoDBBackend.transact_write_items
_original_call_action = BaseResponse.call_action
_original_query = Table.query
_original_bucket_post = S3Response._bucket_response_post
_QUERY_SIGNATURE = inspect.signature(_original_query)
_applied = 0
_applying = threading.Lock()


def apply() -> None:
    global _applied
    with _applying:
        _applied += 1
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        BaseResponse.call_action = _serialized_call_action  # type: ignore[method-assign]
        DynamoHandler.serialized = _dynamodb_serialized  # type: ignore[method-assign,assignment]
        Table.query = _query_one_partition  # type: ignore[method-assign]
        S3Response._bucket_response_post = _bucket_post_with_cors  # type: ignore[method-assign]


def restore() -> None:
    global _applied
    with _applying:
        _applied = max(0, _applied - 1)
        if not _applied:
            DynamoDBBackend.transact_write_items = _original_transact  # type: ignore[method-assign]
            BaseResponse.call_action = _original_call_action  # type: ignore[method-assign]
            del DynamoHandler.serialized  # BaseResponse's again
            Table.query = _original_query  # type: ignore[method-assign]
            S3Response._bucket_response_post = _original_bucket_post  # type: ignore[method-assign]


def _bucket_post_with_cors(self: S3Response, request: Any, bucket_name: str) -> TYPE_RESPONSE:
    status, headers, body = _original_bucket_post(self, request, bucket_name)
    self.bucket_name = bucket_name
    return status, {**self._get_cors_headers_other(), **headers}, body


def _serialized_call_action(self: BaseResponse) -> TYPE_RESPONSE:
    """Every service's request handling ends here (moto's server and its in-process mock alike)."""
    throttled = _throttled(self)
    if throttled is not None:
        return throttled
    with LOCK:
        return _original_call_action(self)


def _dynamodb_serialized(self: DynamoHandler, action_result: ActionResult) -> TYPE_RESPONSE:
    """An item call's result as DynamoDB's JSON, written directly.

    The result of an item call is already the response's JSON: AttributeValues, counts, keys. moto
    writes it through its generic serializer, which walks the output shape member by member and takes
    most of the local stack's time (a Query of a hundred messages: milliseconds). This writes the same
    document: the members of the output shape that are set (the serializer leaves out None), as JSON.
    Anything else (errors, control-plane calls, a value JSON cannot hold) goes to moto's serializer.
    """
    action = self._get_action()
    result = action_result.result
    if action in FAST_SERIALIZED and isinstance(result, dict):
        members = _output_members(action)
        try:
            body = json.dumps({k: v for k, v in result.items() if v is not None and k in members})
        except (TypeError, ValueError):
            pass
        else:
            return 200, {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}, body
    return BaseResponse.serialized(self, action_result)


def _query_one_partition(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """A Query of the table itself, given only its partition's items to look at.

    moto's Query sorts every item of the table, then keeps those of the partition asked for: a Query
    costs as much as the table is large (a sync in a table of 10,000 messages: tens of milliseconds),
    where DynamoDB reads the one partition. Index queries are left as they are.
    """
    index_name = _QUERY_SIGNATURE.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
    if index_name or hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    return _original_query(_Partition(self, hash_key), hash_key, *args, **kwargs)  # type: ignore[arg-type]


class _Partition:
    """The table, as far as moto's Query looks at it: `all_items` holds only one partition's items."""

    def __init__(self, table: Table, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Item]:
        held = self._table.items.get(self._hash_key)
        if held is None:
            return []
        if isinstance(held, dict):
            return sorted(held.values(), key=lambda item: item.range_key)  # type: ignore[no-any-return]
        return [held]


@functools.cache
def _output_members(action: str) -> frozenset[str]:
    output = get_service_model("dynamodb").operation_model(action).output_shape
    return frozenset(output.members) if output is not None else frozenset()


# DynamoDB's item reads and writes: what a table throttles.
THROTTLED_ACTIONS = frozenset(
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
    }
)
FAST_SERIALIZED = THROTTLED_ACTIONS
THROTTLED_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
    "table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)


def _throttled(self: BaseResponse) -> TYPE_RESPONSE | None:
    """The fault `ddb.throttle` (chat/faults.py): the request is refused before anything is applied, with
    the 400 DynamoDB answers, which botocore's retry handler retries as it does in AWS."""
    if self.service_name != "dynamodb" or self._get_action() not in THROTTLED_ACTIONS:
        return None
    if not faults.fires("ddb.throttle"):
        return None
    error_type = f"{ERROR_TYPE_PREFIX}ProvisionedThroughputExceededException"
    body = json.dumps({"__type": error_type, "message": THROTTLED_MESSAGE})
    return 400, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": error_type}, body


class _Undo:
    """The items a transaction may change, as they were, and each stream shard's length."""

    def __init__(self) -> None:
        self.items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self.shards: dict[int, tuple[Table, int]] = {}

    def remember(self, table: Table, key: dict[str, Any]) -> None:
        if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            return  # moto raises a validation error for this item; nothing to restore
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        before = table.get_item(hash_value, range_value)
        self.items.append((table, hash_value, range_value, copy.deepcopy(before)))
        if table.stream_shard is not None and id(table) not in self.shards:
            self.shards[id(table)] = (table, len(table.stream_shard.items))

    def rollback(self) -> None:
        for table, hash_value, range_value, before in reversed(self.items):
            if range_value is not None:
                if before is None:
                    table.items[hash_value].pop(range_value, None)  # type: ignore[union-attr]
                else:
                    table.items[hash_value][range_value] = before  # type: ignore[index]
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before  # type: ignore[assignment]
        for table, length in self.shards.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # Mirrors moto 5.2.5's DynamoDBBackend.transact_write_items; only the backup differs.
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            undo.rollback()
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_values = op.get("ReturnValuesOnConditionCheckFailure")

            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if return_values == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                undo.remember(table, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)
