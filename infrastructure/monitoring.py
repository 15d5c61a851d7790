"""What tells an operator the deployed system is in trouble: alarms notifying one SNS topic, and a
dashboard of the same metrics.

One construct per concern: the topic (`AlarmTopic`), the stream pipeline (`StreamAlarms`), every
function (`FunctionAlarms`), the WebSocket API (`ApiAlarms`) and the `Dashboard`; `Monitoring`
wires them together. Every alarm treats missing data as not breaching: most of these metrics are
only published when something happens (an invocation, a stream batch, a queued message).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chat import topology
from infrastructure.config import METRICS_NAMESPACE, SERVICE_NAME
from infrastructure.functions import Functions
from infrastructure.naming import pascal_case
from infrastructure.queues import Queues
from infrastructure.streams import Streams
from infrastructure.websocket_api import WebSocketApi

PERIOD = Duration.minutes(1)
# SQS publishes queue metrics every few minutes: a shorter period would see gaps between them.
QUEUE_PERIOD = Duration.minutes(5)
# A stream record older than this when its batch starts means live pushes arrive late.
MAX_ITERATOR_AGE = Duration.seconds(30)
# A queued send waits for one conversation's earlier sends only: seconds at most when all is well.
MAX_QUEUED_AGE = Duration.seconds(60)
# API Gateway answers a refused handshake with 401 only when the authorizer raises "Unauthorized",
# and Lambda counts every such raise in Errors: refused tokens are routine, so the authorizer's
# alarm watches the share of failed handshakes, over a window long enough to hold a few of them.
AUTHORIZER_PERIOD = Duration.minutes(5)
AUTHORIZER_MIN_HANDSHAKES = 20
AUTHORIZER_MAX_FAILED_PERCENT = 50

API_NAMESPACE = "AWS/ApiGateway"
# WebSocket APIs have no 5XXError metric. ExecutionError counts requests API Gateway could not get
# an answer for from the integration (invoke failed, throttled, timed out): what it answers with a
# 5xx. IntegrationError (the integration answered 4xx/5xx) and ClientError (4xx before the
# integration: refused handshakes, throttled clients) are shown on the dashboard, not alarmed.
API_SERVER_ERRORS = "ExecutionError"
API_ERROR_METRICS = ("ClientError", "IntegrationError", "ExecutionError")
API_TRAFFIC_METRICS = ("MessageCount", "ConnectCount")
# Custom metrics the functions write as EMF through Powertools (chat/observability.py).
MESSAGES_SENT = "MessagesSent"
PUSH_METRICS = ("FanoutPosts", "PresencePosts")


class AlarmTopic(Construct):
    """The SNS topic every alarm notifies (on alarm and on recovery). The deployer subscribes to it
    (its ARN is the stack output AlarmTopicArn), e.g. with `aws sns subscribe --protocol email`."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Not encrypted at rest, on purpose: notifications carry alarm names, states and metric
        # values, never user data, and CloudWatch cannot publish to a topic encrypted with the
        # AWS-managed SNS key (whose key policy cannot admit cloudwatch.amazonaws.com); a
        # customer-managed key would cost more than it protects. enforce_ssl: publish over TLS only.
        self.topic = sns.Topic(self, "Topic", display_name="Chat alarms", enforce_ssl=True)
        # The topic policy replaces SNS's default one, so CloudWatch must be let in explicitly;
        # only for this account's alarms (no confused deputy).
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        self._action = actions.SnsAction(self.topic)

    def alarm(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
    ) -> cloudwatch.Alarm:
        """An alarm when `metric` goes above `threshold` in one period, notifying this topic."""
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm


def dead_letter_messages(queue: sqs.IQueue) -> cloudwatch.Metric:
    return queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=QUEUE_PERIOD)


def iterator_age(function: lambda_.IFunction) -> cloudwatch.Metric:
    return function.metric("IteratorAge", statistic="Maximum", period=PERIOD)


def function_errors(function: lambda_.IFunction, period: Duration = PERIOD) -> cloudwatch.Metric:
    return function.metric_errors(statistic="Sum", period=period)


def function_throttles(function: lambda_.IFunction) -> cloudwatch.Metric:
    return function.metric_throttles(statistic="Sum", period=PERIOD)


def function_invocations(function: lambda_.IFunction, period: Duration = PERIOD) -> cloudwatch.Metric:
    return function.metric_invocations(statistic="Sum", period=period)


def failed_handshake_percent(authorizer: lambda_.IFunction) -> cloudwatch.MathExpression:
    """Errors per 100 authorizer invocations, 0 below AUTHORIZER_MIN_HANDSHAKES invocations."""
    return cloudwatch.MathExpression(
        expression=(f"IF(invocations >= {AUTHORIZER_MIN_HANDSHAKES}, 100 * FILL(errors, 0) / invocations, 0)"),
        using_metrics={
            "errors": function_errors(authorizer, AUTHORIZER_PERIOD),
            "invocations": function_invocations(authorizer, AUTHORIZER_PERIOD),
        },
        label="failed handshakes (%)",
        period=AUTHORIZER_PERIOD,
    )


def api_metric(api: WebSocketApi, name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=API_NAMESPACE,
        metric_name=name,
        dimensions_map={"ApiId": api.api.api_id, "Stage": api.stage.stage_name},
        statistic="Sum",
        period=PERIOD,
    )


def chat_metric(name: str) -> cloudwatch.Metric:
    """A metric the functions write as EMF: Powertools adds the service as its one dimension."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic="Sum",
        period=PERIOD,
    )


class StreamAlarms(Construct):
    """The stream pipeline: batches given up on, and streams falling behind."""

    def __init__(
        self, scope: Construct, construct_id: str, *, streams: Streams, functions: Functions, topic: AlarmTopic
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = topic.alarm(
            self,
            "DeadLetters",
            metric=dead_letter_messages(streams.dead_letters),
            threshold=0,
            description="A stream batch failed every retry (or grew too old) and was recorded in the "
            "dead-letter queue: some pushes were never delivered. The message holds the shard and "
            "sequence range; clients recover with sync.",
        )
        self.iterator_age: dict[str, cloudwatch.Alarm] = {}
        for stream in topology.STREAMS:
            self.iterator_age[stream.function] = topic.alarm(
                self,
                f"{pascal_case(stream.function)}IteratorAge",
                metric=iterator_age(functions[stream.function]),
                threshold=MAX_ITERATOR_AGE.to_milliseconds(),
                description=f"The {stream.table} stream's '{stream.function}' function is more than "
                f"{MAX_ITERATOR_AGE.to_seconds()} s behind: its pushes reach clients late.",
            )


class QueueAlarms(Construct):
    """The queues: messages given up on, and queued sends waiting too long."""

    def __init__(self, scope: Construct, construct_id: str, *, queues: Queues, topic: AlarmTopic) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters: dict[str, cloudwatch.Alarm] = {}
        self.oldest: dict[str, cloudwatch.Alarm] = {}
        self.dead_letter_metrics: dict[str, cloudwatch.Metric] = {}
        self.oldest_metrics: dict[str, cloudwatch.Metric] = {}
        for name, dead_letters in queues.dead_letters.items():
            self.dead_letter_metrics[name] = dead_letter_messages(dead_letters)
            self.oldest_metrics[name] = queues.queues[name].metric_approximate_age_of_oldest_message(
                period=QUEUE_PERIOD, statistic="Maximum"
            )
            self.dead_letters[name] = topic.alarm(
                self,
                f"{name}DeadLetters",
                metric=self.dead_letter_metrics[name],
                threshold=0,
                description=f"A message of the {name} queue failed every receive and went to its dead-letter "
                "queue: a queued send was not stored (its client resends it if it is still waiting).",
            )
            self.oldest[name] = topic.alarm(
                self,
                f"{name}OldestMessage",
                metric=queues.queues[name].metric_approximate_age_of_oldest_message(
                    period=QUEUE_PERIOD, statistic="Maximum"
                ),
                threshold=MAX_QUEUED_AGE.to_seconds(),
                description=f"A message has waited in the {name} queue for more than {MAX_QUEUED_AGE.to_seconds()} s: "
                "its consumer is failing or too slow, and senders wait for `sent`.",
            )


class FunctionAlarms(Construct):
    """Every function: errors and throttles."""

    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions, topic: AlarmTopic) -> None:
        super().__init__(scope, construct_id)
        self.errors: dict[str, cloudwatch.Alarm] = {}
        self.throttles: dict[str, cloudwatch.Alarm] = {}
        for spec in topology.FUNCTIONS.values():
            function = functions[spec.name]
            cid = pascal_case(spec.name)
            if spec.name == topology.AUTHORIZER:
                self.errors[spec.name] = topic.alarm(
                    self,
                    f"{cid}Errors",
                    metric=failed_handshake_percent(function),
                    threshold=AUTHORIZER_MAX_FAILED_PERCENT,
                    description=f"More than {AUTHORIZER_MAX_FAILED_PERCENT}% of at least "
                    f"{AUTHORIZER_MIN_HANDSHAKES} handshakes in {AUTHORIZER_PERIOD.to_minutes()} minutes "
                    "failed in the authorizer. A refused token counts as an authorizer error (that is "
                    "how API Gateway answers 401), so this is either a crash or timeout, or the token "
                    "verification (Cognito JWKS) failing for everyone.",
                )
            else:
                self.errors[spec.name] = topic.alarm(
                    self,
                    f"{cid}Errors",
                    metric=function_errors(function),
                    threshold=0,
                    description=f"The '{spec.name}' function failed (an exception it did not turn into an "
                    "error frame, a timeout or running out of memory). See its log group.",
                )
            self.throttles[spec.name] = topic.alarm(
                self,
                f"{cid}Throttles",
                metric=function_throttles(function),
                threshold=0,
                description=f"Invocations of the '{spec.name}' function were throttled: the account's "
                "Lambda concurrency is exhausted.",
            )


class ApiAlarms(Construct):
    """The WebSocket API's server-side errors (see API_SERVER_ERRORS)."""

    def __init__(self, scope: Construct, construct_id: str, *, api: WebSocketApi, topic: AlarmTopic) -> None:
        super().__init__(scope, construct_id)
        self.server_errors = topic.alarm(
            self,
            "ServerErrors",
            metric=api_metric(api, API_SERVER_ERRORS),
            threshold=0,
            description="API Gateway could not get an answer from a route's function (invoke failed, "
            "throttled or timed out) and answered the client with a 5xx.",
        )


class Dashboard(Construct):
    """One CloudWatch dashboard: alarm states, then the API, messages, streams and functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: WebSocketApi,
        functions: Functions,
        streams: Streams,
        queue_alarms: QueueAlarms,
        alarms: list[cloudwatch.Alarm],
    ) -> None:
        super().__init__(scope, construct_id)
        names = list(topology.FUNCTIONS)
        stream_functions = [stream.function for stream in topology.STREAMS]
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="WebSocket API: messages and connects",
                left=[api_metric(api, name) for name in API_TRAFFIC_METRICS],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="WebSocket API: errors (ExecutionError is the 5xx)",
                left=[api_metric(api, name) for name in API_ERROR_METRICS],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Messages sent (left) and frames pushed (right)",
                left=[chat_metric(MESSAGES_SENT)],
                right=[chat_metric(name) for name in PUSH_METRICS],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Stream iterator age, max (ms)",
                left=[iterator_age(functions[name]).with_(label=name) for name in stream_functions],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=MAX_ITERATOR_AGE.to_milliseconds(), label="alarm")
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function invocations",
                left=[function_invocations(functions[name]).with_(label=name) for name in names],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues: messages visible",
                left=[
                    dead_letter_messages(streams.dead_letters).with_(label="streams"),
                    *(m.with_(label=f"{name} queue") for name, m in queue_alarms.dead_letter_metrics.items()),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queued sends: the oldest one's age (s)",
                left=[m.with_(label=name) for name, m in queue_alarms.oldest_metrics.items()],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=MAX_QUEUED_AGE.to_seconds(), label="alarm")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[function_errors(functions[name]).with_(label=name) for name in names],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function throttles",
                left=[function_throttles(functions[name]).with_(label=name) for name in names],
                width=12,
            ),
        )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: WebSocketApi,
        functions: Functions,
        streams: Streams,
        queues: Queues,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = AlarmTopic(self, "AlarmTopic")
        self.queue_alarms = QueueAlarms(self, "Queues", queues=queues, topic=self.topic)
        self.function_alarms = FunctionAlarms(self, "Functions", functions=functions, topic=self.topic)
        self.stream_alarms = StreamAlarms(self, "Streams", streams=streams, functions=functions, topic=self.topic)
        self.api_alarms = ApiAlarms(self, "Api", api=api, topic=self.topic)
        self.dashboard = Dashboard(
            self,
            "Dashboard",
            api=api,
            functions=functions,
            streams=streams,
            queue_alarms=self.queue_alarms,
            alarms=self.alarms,
        )

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        return [
            self.stream_alarms.dead_letters,
            *self.stream_alarms.iterator_age.values(),
            *self.queue_alarms.dead_letters.values(),
            *self.queue_alarms.oldest.values(),
            self.api_alarms.server_errors,
            *self.function_alarms.errors.values(),
            *self.function_alarms.throttles.values(),
        ]
