"""SQS: the one place the functions send to a queue (the topology's QUEUES). Not DynamoDB, but data
access all the same: the domain hands over a text and a group, this module knows the queue."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config

from chat import config
from chat.topology import QUEUES


@lru_cache(maxsize=4)
def _client(region: str) -> Any:
    # A botocore client, as PynamoDB's are: boto3's resource layer would only add to the cold start.
    # Retries as the SDK's standard mode does: a send lost even so is answered by the client's resend.
    return botocore.session.get_session().create_client(
        "sqs", region_name=region, config=Config(retries={"max_attempts": 3, "mode": "standard"})
    )


def enqueue(queue_name: str, group: str, deduplication: str, body: str) -> None:
    """Appends `body` to the FIFO queue's `group`. SQS drops a second message with the same
    `deduplication` text within five minutes (a resend of one send)."""
    queue = next(q for q in QUEUES if q.logical_name == queue_name)
    _client(config.region()).send_message(
        QueueUrl=config.queue_url(queue),
        MessageBody=body,
        MessageGroupId=group,
        # At most 128 characters: a digest of whatever identifies the message.
        MessageDeduplicationId=hashlib.sha256(deduplication.encode("utf-8")).hexdigest(),
    )
