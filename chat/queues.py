"""The queue adapter: an SQS FIFO batch becomes one message body at a time for the consumer that
chat/topology.py names for the queue.

Powertools' SqsFifoPartialProcessor with `skip_group_on_error`: when a message fails, the later
messages of its group (its conversation) in the batch are not processed and are reported failed with
it, so SQS delivers them again in order; other groups carry on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.sqs_fifo_partial_processor import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import config, topology
from chat.observability import instrumented

QueueHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def queue_handler(function: str) -> QueueHandler:
    """The Lambda handler of a queue function: the topology's consumer for its queue.

    Built at cold start: the settings are validated and the consumer imported then.
    """
    config.settings()
    (queue,) = (q for q in topology.QUEUES if q.function == function)
    module, _, attribute = queue.consumer.partition(":")
    consume: Callable[[str], None] = getattr(importlib.import_module(module), attribute)

    def on_record(record: SQSRecord) -> None:
        consume(record.body)

    @instrumented
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        return dict(
            process_partial_response(event=event, record_handler=on_record, processor=processor, context=context)
        )

    return handler
