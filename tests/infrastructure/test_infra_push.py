"""Amazon SNS mobile push: grants and settings only for the platform applications the context names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from chat import topology
from infrastructure.stack import ChatStack
from tests.infrastructure.cfn import as_list, join_text, statements_of_role
from tests.infrastructure.conftest import Synth

PUSHING = [f for f in topology.FUNCTIONS.values() if f.mobile_push]


def sns_grants(resources: dict[str, Any], stack: ChatStack, function: str) -> set[tuple[str, str]]:
    role_id = str(stack.resolve(stack.functions.roles[function].node.default_child.logical_id))  # type: ignore[union-attr]
    return {
        (action, join_text(resource))
        for statement in statements_of_role(resources, role_id)
        for action in as_list(statement["Action"])
        if action.startswith("sns:")
        for resource in as_list(statement["Resource"])
    }


def environment(resources: dict[str, Any], stack: ChatStack, function: str) -> dict[str, Any]:
    logical_id = str(stack.resolve(stack.functions[function].node.default_child.logical_id))  # type: ignore[union-attr]
    return dict(resources[logical_id]["Properties"]["Environment"]["Variables"])


def test_only_the_functions_that_push_may_call_sns(synth: Synth) -> None:
    assert {f.name for f in PUSHING} == {"notify", "preferences"}
    for spec in topology.FUNCTIONS.values():
        if not spec.mobile_push:
            assert sns_grants(synth.resources, synth.stack, spec.name) == set(), spec.name


def test_notify_may_make_endpoints_on_the_applications_and_use_only_their_endpoints(synth: Synth) -> None:
    prefix = "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:"
    grants = sns_grants(synth.resources, synth.stack, "notify")
    expected = set()
    for path in ("APNS/chat-apns", "GCM/chat-fcm"):
        expected.add(("sns:CreatePlatformEndpoint", f"{prefix}app/{path}"))
        for action in ("sns:GetEndpointAttributes", "sns:Publish", "sns:DeleteEndpoint"):
            expected.add((action, f"{prefix}endpoint/{path}/*"))
    assert grants == expected
    assert sns_grants(synth.resources, synth.stack, "preferences") == {
        ("sns:DeleteEndpoint", f"{prefix}endpoint/{path}/*") for path in ("APNS/chat-apns", "GCM/chat-fcm")
    }
    env = environment(synth.resources, synth.stack, "notify")
    assert env["PUSH_NOTIFIER"] == "sns"
    assert join_text(env["PUSH_APNS_APPLICATION_ARN"]) == f"{prefix}app/APNS/chat-apns"
    assert join_text(env["PUSH_FCM_APPLICATION_ARN"]) == f"{prefix}app/GCM/chat-fcm"


def _stack(context: dict[str, Any], assets: tuple[Path, Path], push: Any) -> ChatStack:
    context = {k: v for k, v in context.items() if k != "pushPlatformApplications"}
    if push is not None:
        context["pushPlatformApplications"] = push
    code, layer = assets
    return ChatStack(cdk.App(context=context), "ChatStack", code_asset_dir=code, layer_asset_dir=layer)


def test_without_applications_nothing_is_granted_and_nothing_configured(
    cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]
) -> None:
    stack = _stack(cdk_context, stand_in_assets, None)
    resources = Template.from_stack(stack).to_json()["Resources"]
    for spec in PUSHING:
        assert sns_grants(resources, stack, spec.name) == set()
        env = environment(resources, stack, spec.name)
        assert env["PUSH_NOTIFIER"] == "sns"
        assert not {"PUSH_APNS_APPLICATION_ARN", "PUSH_FCM_APPLICATION_ARN"} & set(env)


def test_a_whole_arn_names_one_application_and_stays_nag_clean(
    cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]
) -> None:
    arn = "arn:aws:sns:eu-west-1:111122223333:app/APNS_SANDBOX/chat-dev"
    stack = _stack(cdk_context, stand_in_assets, '{"apns": "' + arn + '"}')
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert sns_grants(resources, stack, "notify") == {
        ("sns:CreatePlatformEndpoint", arn),
        *{
            (a, "arn:aws:sns:eu-west-1:111122223333:endpoint/APNS_SANDBOX/chat-dev/*")
            for a in ("sns:GetEndpointAttributes", "sns:Publish", "sns:DeleteEndpoint")
        },
    }
    report = AwsSolutionsChecks().validate_scope(stack)
    assert [v.rule_name for v in report.violations] == []


def test_an_unknown_platform_fails_the_synth(cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]) -> None:
    with pytest.raises(Exception, match="pushPlatformApplications"):
        _stack(cdk_context, stand_in_assets, {"gcm": "GCM/x"})
