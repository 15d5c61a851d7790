"""DynamoDB stream handlers: Powertools BatchProcessor with partial batch responses, order kept.

After one record fails, the later records of the batch are failed too without being processed:
Lambda resumes from the first failure, so nothing overtakes a message that could not be pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat.observability import logger, metrics


class EarlierRecordFailed(Exception):
    """Held back so that it is retried after the record that failed before it."""


def ordered_stream_handler(
    handle_record: Callable[[dict[str, Any], dict[str, Any] | None, str], None],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """`handle_record(new_image, old_image, event_name)` gets raw DynamoDB-JSON images."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        failed = False

        def on_record(record: DynamoDBRecord) -> None:
            nonlocal failed
            if failed:
                raise EarlierRecordFailed()
            raw = record.raw_event.get("dynamodb", {})
            try:
                handle_record(raw.get("NewImage") or {}, raw.get("OldImage"), record.raw_event.get("eventName", ""))
            except Exception:
                failed = True
                raise

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        response = process_partial_response(event=event, record_handler=on_record, processor=processor, context=context)
        return dict(response)

    return handler
