"""The stream adapter: DynamoDB stream batches become one `Change` at a time for the consumer that
chat/topology.py names for the stream (decoding and filtering are the consumer's, in chat/).

Order is kept per partition key (a conversation for Messages and Receipts, a user for Connections),
not across the batch. The batch's records are grouped by the partition key of their item; the
groups run side by side, at most MAX_PARALLEL_KEYS at once, in a ContextPool (the invocation's
context follows every task: log keys, and locally the function whose role signs the AWS calls);
within a group the records run one after another, in stream order. Once a record fails, the later
records of its key are not processed: nothing overtakes a message that could not be pushed.

Partial batch response. Lambda resumes a DynamoDB stream batch from the lowest sequence number the
function reports ("If the batchItemFailures array contains multiple items, Lambda uses the record
with the lowest sequence number as the checkpoint. Lambda then retries all records starting from
that checkpoint": AWS Lambda Developer Guide, "Configuring partial batch response with DynamoDB and
Lambda"). So the response names one record, the earliest that failed: naming more changes nothing.
What the retry re-delivers, from that record on:

- the failed records and the later records of their keys, held back here: posted once, by the retry;
- the later records of the other keys, processed here: posted again (devices drop the copies by
  (conversationId, seq)).

Nothing before the earliest failure comes back. The checkpoint is one sequence number per shard,
so that is the least a retry can re-post short of remembering, across invocations, what went out.

When no record of the batch succeeded the invocation fails, as Powertools' BatchProcessor does:
Lambda counts it in the function's Errors (alarmed) and retries the batch, bisected.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import config, topology
from chat.concurrency import ContextPool
from chat.observability import instrumented, logger

StreamHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

# Partition keys processed at once in one invocation. Each runs its DynamoDB reads and its POSTs;
# PynamoDB keeps 10 connections per table, and 10 keys' posts (a few devices each) fit in push's 64.
MAX_PARALLEL_KEYS = 10
_pool = ContextPool(max_workers=MAX_PARALLEL_KEYS, name="streams")


@dataclass(frozen=True)
class Change:
    """One stream record: what happened to an item, with its images as raw DynamoDB JSON."""

    event: Literal["INSERT", "MODIFY", "REMOVE"]
    new_image: dict[str, Any]
    old_image: dict[str, Any] | None
    # When DynamoDB made the change (epoch seconds), not when the record was processed.
    changed_at: float


class AllRecordsFailed(Exception):
    """No record of the batch succeeded: the invocation fails and Lambda retries the batch."""


def change_of(record: dict[str, Any]) -> Change:
    data = record.get("dynamodb", {})
    return Change(
        event=record.get("eventName", ""),  # type: ignore[arg-type]
        new_image=data.get("NewImage") or {},
        old_image=data.get("OldImage"),
        changed_at=float(data.get("ApproximateCreationDateTime") or 0),
    )


def partition_key_of(record: Mapping[str, Any], attribute: str) -> str | None:
    """The record's item's partition key (its typed value, as text), None if the record has none."""
    value = record.get("dynamodb", {}).get("Keys", {}).get(attribute)
    return None if value is None else json.dumps(value, sort_keys=True)


def key_groups(keys: Sequence[Hashable]) -> list[list[int]]:
    """The batch's positions grouped by key: each group in batch order, the groups in the order of
    their first record (so the earliest records start first)."""
    groups: dict[Hashable, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    return list(groups.values())


@dataclass(frozen=True)
class Outcome:
    """What became of records: how many succeeded, and the batch position of the earliest that failed."""

    succeeded: int
    first_failure: int | None = None


def _consume_in_order(
    records: Sequence[dict[str, Any]], positions: list[int], consume: Callable[[Change], None]
) -> Outcome:
    """One key's records, one after another; the first failure holds back the rest of them."""
    for done, position in enumerate(positions):
        record = records[position]
        try:
            consume(change_of(record))
        except Exception:
            # Lambda retries it: a warning (a batch given up on reaches the dead-letter queue, alarmed).
            logger.warning(
                "stream record failed: it and the later records of its partition key go back to Lambda",
                exc_info=True,
                extra={
                    "sequenceNumber": record.get("dynamodb", {}).get("SequenceNumber"),
                    "eventName": record.get("eventName"),
                    "heldBack": len(positions) - done - 1,
                },
            )
            return Outcome(done, position)
    return Outcome(len(positions))


def consume_batch(
    records: Sequence[dict[str, Any]],
    consume: Callable[[Change], None],
    key_attribute: str | None,
    pool: ContextPool | None = None,
) -> Outcome:
    """Consumes a batch: its partition keys side by side in `pool`, each key's records in order.
    Without a `key_attribute` the batch is one group, processed in order."""
    keys = [partition_key_of(r, key_attribute) if key_attribute else None for r in records]
    outcomes = list((pool or _pool).map(lambda group: _consume_in_order(records, group, consume), key_groups(keys)))
    failures = [o.first_failure for o in outcomes if o.first_failure is not None]
    return Outcome(sum(o.succeeded for o in outcomes), min(failures, default=None))


def batch_response(records: Sequence[dict[str, Any]], outcome: Outcome) -> dict[str, Any]:
    """The partial batch response: the earliest failed record, where Lambda resumes (see above)."""
    if outcome.first_failure is None:
        return {"batchItemFailures": []}
    if outcome.succeeded == 0:
        raise AllRecordsFailed(f"All records failed processing ({len(records)} in the batch)")
    return {"batchItemFailures": [{"itemIdentifier": records[outcome.first_failure]["dynamodb"]["SequenceNumber"]}]}


def ordered_stream_handler(
    consume: Callable[[Change], None], key_attribute: str | None = None, pool: ContextPool | None = None
) -> StreamHandler:
    """A stream function's handler: each record to `consume`, in order per `key_attribute` (the
    table's partition key; None: the whole batch in order), keys side by side in `pool`."""

    @instrumented
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records: list[dict[str, Any]] = event.get("Records") or []
        return batch_response(records, consume_batch(records, consume, key_attribute, pool))

    return handler


def stream_handler(function: str) -> StreamHandler:
    """The Lambda handler of a stream function: the topology's consumer for its stream, in order per
    partition key of the stream's table.

    Built at cold start: the settings are validated and the consumer imported then.
    """
    config.settings()
    (stream,) = (s for s in topology.STREAMS if s.function == function)
    module, _, attribute = stream.consumer.partition(":")
    consume: Callable[[Change], None] = getattr(importlib.import_module(module), attribute)
    return ordered_stream_handler(consume, topology.TABLES[stream.table].partition.name)
