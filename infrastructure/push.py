"""Amazon SNS mobile push: the platform applications a deployment configures, and the grants on them.

The platform applications (APNs, FCM) are made outside this stack: they hold the platform's
credentials (an APNs key or certificate, an FCM service account), which do not belong in a template.
A deployment names them in the CDK context `pushPlatformApplications` (cdk.json names `APNS/chat-apns`
and `GCM/chat-fcm`), or on the command line:

    cdk deploy -c pushPlatformApplications='{"apns": "APNS/chat", "fcm": "GCM/chat"}'

each value the part of the application's ARN after `app/` (the ARN is completed with the stack's
partition, region and account) or a whole ARN. A platform not named is not configured: its functions
get no grant and no variable for it, and skip its notifications with a log line (chat/notifiers.py).

A function with `mobile_push` actions (chat/topology.py) is granted CreatePlatformEndpoint on the
configured applications and its other actions on their endpoints (`endpoint/<type>/<name>/*`: endpoint
ids are only known at run time), and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from chat import topology
from chat.notifiers import ENV_NOTIFIER, ENV_PLATFORM_APPLICATIONS
from infrastructure.nag import acknowledge

CONTEXT_KEY = "pushPlatformApplications"
# On the application itself; the other actions are on its endpoints.
APPLICATION_ACTIONS = ("CreatePlatformEndpoint",)


@dataclass(frozen=True)
class PlatformApplication:
    platform: str
    # `APNS/chat`: the platform type and the application's name, as in its ARN.
    path: str
    # A whole ARN given in the context (then `path` is read from it), else None.
    arn: str | None = None

    def application_arn(self, stack: Stack) -> str:
        return self.arn or _arn(stack, f"app/{self.path}")

    def endpoints_arn(self, stack: Stack) -> str:
        if self.arn:
            return self.arn.replace(":app/", ":endpoint/", 1) + "/*"
        return _arn(stack, f"endpoint/{self.path}/*")


def _arn(stack: Stack, resource: str) -> str:
    return f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{resource}"


def configured_applications(scope: Construct) -> list[PlatformApplication]:
    """The platform applications named in the context (a JSON object, or its text)."""
    raw: Any = scope.node.try_get_context(CONTEXT_KEY)
    if raw is None or raw == "":
        return []
    named = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(named, dict) or not set(named) <= set(ENV_PLATFORM_APPLICATIONS):
        raise ValueError(f"{CONTEXT_KEY}: an object of {sorted(ENV_PLATFORM_APPLICATIONS)} -> application, not {raw!r}")
    found = []
    for platform, value in sorted(named.items()):
        if not value:
            continue
        if value.startswith("arn:"):
            found.append(PlatformApplication(platform, value.split(":app/", 1)[1], value))
        else:
            found.append(PlatformApplication(platform, value.removeprefix("app/")))
    return found


def configure_mobile_push(
    spec: topology.Function, role: iam.IRole, env: dict[str, str], applications: list[PlatformApplication]
) -> None:
    """The function's notifier settings (its environment) and its grants on the configured applications."""
    if not spec.mobile_push:
        return
    env[ENV_NOTIFIER] = "sns"
    stack = Stack.of(role)
    application_actions = [f"sns:{a}" for a in spec.mobile_push if a in APPLICATION_ACTIONS]
    endpoint_actions = [f"sns:{a}" for a in spec.mobile_push if a not in APPLICATION_ACTIONS]
    for app in applications:
        if application_actions:
            env[ENV_PLATFORM_APPLICATIONS[app.platform]] = app.application_arn(stack)
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=application_actions, resources=[app.application_arn(stack)])
            )
        if endpoint_actions:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=endpoint_actions, resources=[app.endpoints_arn(stack)])
            )
            finding = (
                app.endpoints_arn(stack)
                if app.arn
                else f"arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:endpoint/{app.path}/*"
            )
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{finding}]",
                f"SNS endpoint ids of the {app.platform} application are only known at run time: the grant is "
                f"limited to that application's endpoints and to {', '.join(endpoint_actions)}.",
            )
