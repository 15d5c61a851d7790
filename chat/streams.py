"""The stream adapter: DynamoDB stream batches become one `Change` at a time for the consumer that
chat/topology.py names for the stream (decoding and filtering are the consumer's, in chat/).

Powertools' BatchProcessor with partial batch responses, order kept: after one record fails, the
later records of the batch are failed too without being processed, since Lambda resumes from the
first failure, so nothing overtakes a message that could not be pushed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import config, topology
from chat.observability import instrumented

StreamHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Change:
    """One stream record: what happened to an item, with its images as raw DynamoDB JSON."""

    event: Literal["INSERT", "MODIFY", "REMOVE"]
    new_image: dict[str, Any]
    old_image: dict[str, Any] | None
    # When DynamoDB made the change (epoch seconds), not when the record was processed.
    changed_at: float


class EarlierRecordFailed(Exception):
    """Held back so that it is retried after the record that failed before it."""


def change_of(record: dict[str, Any]) -> Change:
    data = record.get("dynamodb", {})
    return Change(
        event=record.get("eventName", ""),  # type: ignore[arg-type]
        new_image=data.get("NewImage") or {},
        old_image=data.get("OldImage"),
        changed_at=float(data.get("ApproximateCreationDateTime") or 0),
    )


def ordered_stream_handler(consume: Callable[[Change], None]) -> StreamHandler:
    @instrumented
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        failed = False

        def on_record(record: DynamoDBRecord) -> None:
            nonlocal failed
            if failed:
                raise EarlierRecordFailed()
            try:
                consume(change_of(record.raw_event))
            except Exception:
                failed = True
                raise

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        response = process_partial_response(event=event, record_handler=on_record, processor=processor, context=context)
        return dict(response)

    return handler


def stream_handler(function: str) -> StreamHandler:
    """The Lambda handler of a stream function: the topology's consumer for its stream.

    Built at cold start: the settings are validated and the consumer imported then.
    """
    config.settings()
    (stream,) = (s for s in topology.STREAMS if s.function == function)
    module, _, attribute = stream.consumer.partition(":")
    consume: Callable[[Change], None] = getattr(importlib.import_module(module), attribute)
    return ordered_stream_handler(consume)
