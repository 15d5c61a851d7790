"""One SQS FIFO queue per `topology.QUEUES` entry, consumed by its function, sent to by the functions
whose `enqueues` names it (SendMessage on that queue, nothing else)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chat import topology
from infrastructure.functions import Functions
from infrastructure.naming import pascal_case

# A queued send older than this is worthless: its client resent it long ago (and got `sent` from the
# stored record) or gave up. SQS keeps it at most this long.
RETENTION = Duration.hours(1)


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letters: dict[str, sqs.Queue] = {}
        for spec in topology.QUEUES:
            cid = pascal_case(spec.logical_name)
            dead_letters = sqs.Queue(
                self,
                f"{cid}DeadLetters",
                fifo=True,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
                removal_policy=RemovalPolicy.DESTROY,
            )
            queue = sqs.Queue(
                self,
                cid,
                fifo=True,
                # Deduplication ids come from the sender: one (conversation, sender, clientMsgId) is one message.
                content_based_deduplication=False,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                retention_period=RETENTION,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=spec.max_receives),
                removal_policy=RemovalPolicy.DESTROY,
            )
            consumer = functions[spec.function]
            consumer.add_event_source(
                sources.SqsEventSource(queue, batch_size=spec.batch_size, report_batch_item_failures=True)
            )
            for sender in topology.FUNCTIONS.values():
                if spec.logical_name in sender.enqueues:
                    functions.roles[sender.name].add_to_policy(
                        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
                    )
                    functions[sender.name].add_environment(spec.env, queue.queue_url)
            self.queues[spec.logical_name] = queue
            self.dead_letters[spec.logical_name] = dead_letters
