"""One Lambda function per `topology.FUNCTIONS` entry, with exactly the access the topology declares.

Each function's role gets the DynamoDB actions its `access` names, on the tables and indexes it
names, and nothing else: no table-wide read/write bundles. The local stack and the tests hold every
call to these very statements (local/iam.py), so a missing grant fails a test and an unused one
shows in the grant report.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from chat import topology
from infrastructure.buckets import Buckets
from infrastructure.config import LAMBDA_PYTHON_VERSION, METRICS_NAMESPACE, SERVICE_NAME, STAGE_NAME
from infrastructure.identity import Identity
from infrastructure.nag import acknowledge
from infrastructure.naming import pascal_case
from infrastructure.push import configure_mobile_push, configured_applications
from infrastructure.tables import Tables
from infrastructure.websocket_api import WebSocketApi

RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + LAMBDA_PYTHON_VERSION.replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
LOG_LEVEL = "INFO"
# The @connections operations: a posting function pushes frames (a gone client answers 410); a closing
# one closes sockets.
POST_METHODS = ("POST",)
CLOSE_METHODS = ("DELETE",)


def connection_methods(spec: topology.Function) -> tuple[str, ...]:
    """The @connections operations a function may call, and nothing else."""
    return (POST_METHODS if spec.posts else ()) + (CLOSE_METHODS if spec.closes else ())


class Functions(Construct):
    """The functions, their shared code asset and dependency layer, their roles and log groups."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        buckets: Buckets,
        api: WebSocketApi,
        identity: Identity,
        code_asset_dir: Path,
        layer_asset_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self._tables = tables
        self._buckets = buckets
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_asset_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="requirements.txt for the chat functions (manylinux aarch64 wheels)",
        )
        code = lambda_.Code.from_asset(str(code_asset_dir))
        common_env = {
            **tables.environment(),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "LOG_LEVEL": LOG_LEVEL,
            topology.ENV_CONNECTION_LEASE_S: str(topology.CONNECTION_LEASE_S),
        }
        self.by_name: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        # Amazon SNS platform applications the deployment configured (infrastructure/push.py).
        self.push_applications = configured_applications(self)
        for spec in topology.FUNCTIONS.values():
            env = dict(common_env)
            if connection_methods(spec):
                env[topology.ENV_CALLBACK_URL] = api.callback_url
            if spec.objects:
                env.update(buckets.environment())
            if spec.name == topology.AUTHORIZER:
                env[topology.ENV_JWT_ISSUER] = identity.issuer
                env[topology.ENV_JWT_AUDIENCE] = identity.client.user_pool_client_id
                env[topology.ENV_JWKS_URL] = identity.jwks_url
            self.by_name[spec.name] = self._function(spec, code, env, api)

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]

    def _function(
        self, spec: topology.Function, code: lambda_.Code, env: dict[str, str], api: WebSocketApi
    ) -> lambda_.Function:
        cid = pascal_case(spec.name)
        log_group = logs.LogGroup(self, f"{cid}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this one group only.
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the chat '{spec.name}' function",
        )
        log_group.grant_write(role)
        configure_mobile_push(spec, role, env, self.push_applications)
        function = lambda_.Function(
            self,
            f"{cid}Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment=env,
            log_group=log_group,
            role=role,
        )
        self._grant_tables(spec, role)
        self._grant_objects(spec, role)
        methods = connection_methods(spec)
        if methods:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["execute-api:ManageConnections"],
                    resources=[api.connections_arn(method) for method in methods],
                )
            )
            for method in methods:
                acknowledge(
                    role,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                    f"<{_logical_id(api.api.node.default_child)}>/{STAGE_NAME}/{method}/@connections/*]",
                    "Connection ids are only known at run time: the grant is limited to this API's stage and "
                    f"the {method} @connections operation.",
                )
        if any(stream.function == spec.name for stream in topology.STREAMS):
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "DynamoDB's ListStreams (added by the stream event source) supports no resource-level permissions.",
            )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"Pinned to Python {LAMBDA_PYTHON_VERSION}: the dependency layer's binary wheels "
            "(pydantic-core, cryptography) are built for that interpreter by scripts/package_lambdas.py.",
        )
        self.roles[spec.name] = role
        return function

    def _grant_tables(self, spec: topology.Function, role: iam.Role) -> None:
        for (table_name, index), actions in spec.grants.items():
            table = self._tables[table_name]
            resource = table.table_arn if index is None else f"{table.table_arn}/index/{index}"
            role.add_to_policy(
                iam.PolicyStatement(actions=[f"dynamodb:{action}" for action in actions], resources=[resource])
            )

    def _grant_objects(self, spec: topology.Function, role: iam.Role) -> None:
        for (bucket_name, prefix), actions in spec.object_grants.items():
            bucket = self._buckets[bucket_name]
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[f"s3:{action}" for action in actions], resources=[bucket.arn_for_objects(f"{prefix}*")]
                )
            )
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{_logical_id(bucket.node.default_child)}.Arn>/{prefix}*]",
                "Object keys hold ids made at run time (conversation, attachment): the grant is limited to "
                f"the {prefix} prefix of this bucket and to {', '.join(actions)}.",
            )


def _logical_id(element: object) -> str:
    """The logical id cdk-nag prints inside a finding id, e.g. `<TablesMembersE63B2D8E.Arn>`."""
    assert isinstance(element, CfnElement)
    return str(Stack.of(element).resolve(element.logical_id))
