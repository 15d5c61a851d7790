"""DynamoDB stream -> function mappings from `topology.STREAMS`, with one shared dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chat import topology
from infrastructure.functions import Functions
from infrastructure.nag import acknowledge
from infrastructure.tables import Tables

# LATEST, not TRIM_HORIZON: these streams drive live pushes. Replaying up to 24 h of old records
# whenever a mapping is (re)created would re-push stale frames; clients catch up with `sync`.
STARTING_POSITION = lambda_.StartingPosition.LATEST
# A push older than this is worthless to a live client (it will `sync` on reconnect): give up and
# record the batch in the DLQ rather than block the shard behind it.
MAX_RECORD_AGE = Duration.hours(1)
# One batch per shard at a time: more would break the order within a conversation. With a larger
# factor Lambda "still ensures in-order processing at the item (partition and sort key) level"
# (AWS Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB", Polling and batching
# streams): per item, not per partition key, as it is for Kinesis. Every message is its own item
# (conversationId, seq), as is every receipt (conversationId, receiptKey) and every connection
# (userId, connectionId), so two messages of one conversation could run in two batches at once and
# reach devices out of seq order (docs/PROTOCOL.md promises seq order). Throughput comes from inside
# the batch instead: chat/streams.py runs its conversations side by side, each in order.
PARALLELIZATION_FACTOR = 1


class Streams(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, tables: Tables, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        # Lambda writes the metadata of a batch it gave up on (shard, sequence range), not the records.
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the stream event source mappings.",
        )
        dlq = sources.SqsDlq(self.dead_letters)
        for stream in topology.STREAMS:
            # Records of other events are dropped by the mapping: no invocation, nothing billed for them.
            filters = (
                [lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.or_(*stream.events)})]
                if stream.events
                else None
            )
            functions[stream.function].add_event_source(
                sources.DynamoEventSource(
                    tables[stream.table],
                    starting_position=STARTING_POSITION,
                    filters=filters,
                    batch_size=stream.batch_size,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    retry_attempts=stream.max_retries,
                    max_record_age=MAX_RECORD_AGE,
                    parallelization_factor=PARALLELIZATION_FACTOR,
                    on_failure=dlq,
                )
            )
