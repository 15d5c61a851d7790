"""Lambda's SQS event source mapping, locally: one poller per topology queue.

It receives up to the queue's batch size (moto keeps FIFO groups as SQS does: a group with a message
in flight hands out nothing more until that message is deleted or visible again), invokes the
consumer with Lambda's SQS event, deletes what succeeded and leaves what the partial batch response
names (or the whole batch, when the invocation failed) to come back after the visibility timeout,
as Lambda does. moto moves a message received `max_receives` times to the dead-letter queue.
Receives and deletes are made with the function's role, as Lambda's poller makes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

from chat.topology import Queue
from local import iam
from local.iam import ACCOUNT_ID, acting_as
from local.lambdas import FunctionError
from local.moto_server import QUEUE_SIGNAL, WriteSignal

log = logging.getLogger("local.queues")

Invoke = Callable[[str, dict[str, Any]], Any]


def create_queues(sqs: Any, template: dict[str, Any]) -> dict[str, str]:
    """The topology's queues, as the template has them (FIFO, visibility timeout, dead-letter queue),
    under their local names (local/iam.py): queue -> URL."""
    urls = {}
    for logical_name, (name, properties) in iam.local_queues(template).items():
        attributes = {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "VisibilityTimeout": str(properties.get("VisibilityTimeout", 30)),
        }
        redrive = properties.get("RedrivePolicy")
        if redrive:
            dead_letters = sqs.create_queue(
                QueueName=name.removesuffix(".fifo") + "-dead-letters.fifo", Attributes={"FifoQueue": "true"}
            )["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        urls[logical_name] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return urls


def lambda_records(messages: list[dict[str, Any]], queue_arn: str, region: str) -> list[dict[str, Any]]:
    """Received SQS messages as the records of Lambda's SQS event."""
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode("utf-8")).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        for m in messages
    ]


def failed_ids(result: Any) -> set[str] | None:
    """The message ids a partial batch response names; None when it names one Lambda does not know
    (the whole batch failed)."""
    if not isinstance(result, dict):
        return set()
    ids = set()
    for failure in result.get("batchItemFailures") or []:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return None
        ids.add(identifier)
    return ids


class QueuePoller:
    def __init__(
        self,
        queue: Queue,
        queue_url: str,
        invoke: Invoke,
        endpoint: str | None,
        region: str,
        signal: WriteSignal | None = None,
        stop: threading.Event | None = None,
        *,
        idle_poll_s: float = 1.0,
    ) -> None:
        self.queue = queue
        self.queue_url = queue_url
        self.invoke = invoke
        self.region = region
        self.signal = signal or WriteSignal()
        self.stop = stop or threading.Event()
        self.idle_poll_s = idle_poll_s
        self.queue_arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue_url.rsplit('/', 1)[-1]}"
        self._sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
        self._thread = threading.Thread(target=self._run, name=f"queue-{queue.logical_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            generation = self.signal.generation(QUEUE_SIGNAL)
            try:
                found = self.poll_once()
            except Exception:
                log.exception("polling the %s queue failed; retrying in 1 s", self.queue.logical_name)
                self.stop.wait(1)
                continue
            if not found:
                # A send wakes us; a message whose visibility timeout ran out shows at the next idle poll.
                self.signal.wait_past(QUEUE_SIGNAL, generation, self.idle_poll_s)

    def poll_once(self) -> bool:
        """Receives one batch and hands it to the function; False when the queue had nothing to give."""
        with acting_as(self.queue.function):
            received = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.queue.batch_size,
                WaitTimeSeconds=0,  # moto answers one request at a time: a long poll would hold the rest
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        if not received:
            return False
        event = {"Records": lambda_records(received, self.queue_arn, self.region)}
        started = time.monotonic()
        try:
            failed = failed_ids(self.invoke(self.queue.function, event))
        except FunctionError:
            failed = None
        if failed is None:
            failed = {m["MessageId"] for m in received}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            with acting_as(self.queue.function):
                self._sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
        if failed:
            log.warning(
                "%s: %d of %d messages failed after %.0f ms; they come back after the visibility timeout",
                self.queue.function,
                len(failed),
                len(received),
                (time.monotonic() - started) * 1000,
            )
        return True
