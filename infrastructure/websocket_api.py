"""The WebSocket API: one route per `topology.ROUTES` entry, a Lambda REQUEST authorizer on $connect."""

from __future__ import annotations

import json

import jsii
from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from chat import topology
from infrastructure.config import STAGE_NAME
from infrastructure.nag import acknowledge
from infrastructure.naming import pascal_case

ROUTE_SELECTION_EXPRESSION = "$request.body.action"
# $connect/$disconnect cannot send a frame back; every other route's Lambda body is the reply frame.
_NO_RESPONSE_ROUTES = frozenset({"$connect", "$disconnect"})
# Steady-state and burst messages per second across all connections of the stage.
THROTTLE_RATE_LIMIT = 1000
THROTTLE_BURST_LIMIT = 2000

_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "eventType": "$context.eventType",
        "routeKey": "$context.routeKey",
        "connectionId": "$context.connectionId",
        "status": "$context.status",
        "userId": "$context.authorizer.principalId",
        "error": "$context.error.message",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
        "integrationLatency": "$context.integrationLatency",
    },
    separators=(",", ":"),
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """`IAccessLogSettings` is a jsii interface, not a struct: Python must pass an implementing object."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class WebSocketApi(Construct):
    """The API and its auto-deployed stage. Routes are added once the functions exist (`add_routes`),
    because the functions themselves need the API's id for their callback URL and grants."""

    def __init__(self, scope: Construct, construct_id: str, *, create_account_log_role: bool = True) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"{Stack.of(self).stack_name}-chat",
            description="Chat WebSocket API (routes from chat/topology.py)",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=THROTTLE_RATE_LIMIT, burst_limit=THROTTLE_BURST_LIMIT),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(_ACCESS_LOG_FORMAT),
            ),
        )
        if create_account_log_role:
            self._add_account_log_role()

    def _add_account_log_role(self) -> None:
        """WebSocket stages may only log to CloudWatch once the account (per region) names a role for
        API Gateway to do so; without it the stage fails to deploy. This sets that account setting."""
        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        # The account setting outlives this stack; keep the role it points at so other APIs keep logging.
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        self.stage.node.add_dependency(account)
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The AWS-maintained policy is the documented way to let API Gateway write its execution and "
            "access logs; it is scoped to CloudWatch Logs and used by no other principal.",
        )

    @property
    def url(self) -> str:
        """wss://{apiId}.execute-api.{region}.amazonaws.com/{stage}"""
        return self.stage.url

    @property
    def callback_url(self) -> str:
        """https://{apiId}.execute-api.{region}.amazonaws.com/{stage}: the @connections endpoint."""
        return self.stage.callback_url

    def connections_arn(self, method: str) -> str:
        """arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/@connections/*"""
        return Stack.of(self).format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{STAGE_NAME}/{method}/@connections/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def add_routes(self, functions: dict[str, lambda_.IFunction]) -> None:
        integration_for: dict[str, integrations.WebSocketLambdaIntegration] = {}
        for route in topology.ROUTES:
            if route.function not in integration_for:
                integration_for[route.function] = integrations.WebSocketLambdaIntegration(
                    f"{pascal_case(route.function)}Integration", functions[route.function]
                )
            authorizer = None
            if route.key == "$connect":
                authorizer = authorizers.WebSocketLambdaAuthorizer(
                    "Authorizer",
                    functions[topology.AUTHORIZER],
                    authorizer_name="jwt-device",
                    identity_source=list(topology.AUTHORIZER_IDENTITY_SOURCES),
                )
            created = self.api.add_route(
                route.key,
                integration=integration_for[route.function],
                authorizer=authorizer,
                return_response=route.key not in _NO_RESPONSE_ROUTES,
            )
            if authorizer is None:
                acknowledge(
                    created,
                    "AwsSolutions-APIG4",
                    "A WebSocket API authorizes once, on $connect (Lambda REQUEST authorizer verifying the "
                    "Cognito JWT); API Gateway accepts no authorizer on any other route of the connection.",
                )
