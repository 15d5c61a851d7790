"""One EventBridge rule per `topology.SCHEDULES` entry, invoking its function on a fixed rate."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from chat import topology
from infrastructure.functions import Functions
from infrastructure.naming import pascal_case

# A scheduled run that fails is not run again: the next one, a rate later, does the same work.
RETRY_ATTEMPTS = 0


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for schedule in topology.SCHEDULES:
            function = functions[schedule.function]
            cid = pascal_case(schedule.function)
            self.rules[schedule.function] = events.Rule(
                self,
                f"{cid}Schedule",
                description=f"Runs the chat '{schedule.function}' function every {schedule.every_s} s",
                schedule=events.Schedule.rate(Duration.seconds(schedule.every_s)),
                targets=[targets.LambdaFunction(function, retry_attempts=RETRY_ATTEMPTS)],
            )
            lambda_.EventInvokeConfig(self, f"{cid}Invocations", function=function, retry_attempts=RETRY_ATTEMPTS)
