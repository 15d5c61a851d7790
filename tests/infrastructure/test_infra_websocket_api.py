"""The WebSocket API carries every topology route to the right function, authorized on $connect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from chat import topology
from infrastructure.stack import ChatStack
from tests.infrastructure.cfn import join_text, refs
from tests.infrastructure.conftest import Synth

NO_REPLY = {"$connect", "$disconnect"}


def routes_by_key(synth: Synth) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        r["Properties"]["RouteKey"]: (lid, r["Properties"])
        for lid, r in synth.of_type("AWS::ApiGatewayV2::Route").items()
    }


def api_id(synth: Synth) -> str:
    (lid,) = synth.of_type("AWS::ApiGatewayV2::Api")
    return lid


def function_id(synth: Synth, name: str) -> str:
    return synth.logical_id(synth.stack.functions[name])


def test_one_websocket_api_routing_on_the_action_field(synth: Synth) -> None:
    apis = synth.of_type("AWS::ApiGatewayV2::Api")
    assert len(apis) == 1
    (api,) = apis.values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"


def test_routes_are_exactly_the_topology_routes(synth: Synth) -> None:
    assert sorted(routes_by_key(synth)) == sorted(route.key for route in topology.ROUTES)


@pytest.mark.parametrize("route", topology.ROUTES, ids=lambda r: r.key)
def test_route_invokes_its_function_through_a_lambda_proxy_integration(synth: Synth, route: topology.Route) -> None:
    _, props = routes_by_key(synth)[route.key]
    assert props["ApiId"] == {"Ref": api_id(synth)}
    target = join_text(props["Target"])
    assert target.startswith("integrations/<") and target.endswith(">")
    integration = synth.resources[target.removeprefix("integrations/<").removesuffix(">")]
    assert integration["Type"] == "AWS::ApiGatewayV2::Integration"
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert refs(integration["Properties"]["IntegrationUri"]) == {function_id(synth, route.function)}


@pytest.mark.parametrize("route", topology.ROUTES, ids=lambda r: r.key)
def test_api_gateway_may_invoke_the_route_function(synth: Synth, route: topology.Route) -> None:
    fn = function_id(synth, route.function)
    source_arns = [
        join_text(p["Properties"]["SourceArn"])
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn, "Arn"]}
        and p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and p["Properties"]["Action"] == "lambda:InvokeFunction"
    ]
    assert f":<{api_id(synth)}>/*{route.key}" in [arn[arn.rindex(":") :] for arn in source_arns]


def test_request_authorizer_reads_the_topology_identity_sources(synth: Synth) -> None:
    authorizers = synth.of_type("AWS::ApiGatewayV2::Authorizer")
    assert len(authorizers) == 1
    (props,) = (a["Properties"] for a in authorizers.values())
    assert props["AuthorizerType"] == "REQUEST"
    assert props["IdentitySource"] == list(topology.AUTHORIZER_IDENTITY_SOURCES)
    assert refs(props["AuthorizerUri"]) == {function_id(synth, topology.AUTHORIZER)}


def test_api_gateway_may_invoke_the_authorizer(synth: Synth) -> None:
    (authorizer_id,) = synth.of_type("AWS::ApiGatewayV2::Authorizer")
    fn = function_id(synth, topology.AUTHORIZER)
    arns = [
        join_text(p["Properties"]["SourceArn"])
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn, "Arn"]}
    ]
    prefix = "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>"
    assert arns == [f"{prefix}:<{api_id(synth)}>/authorizers/<{authorizer_id}>"]


def test_authorizer_is_attached_to_connect_only(synth: Synth) -> None:
    (authorizer_id,) = synth.of_type("AWS::ApiGatewayV2::Authorizer")
    for key, (_, props) in routes_by_key(synth).items():
        if key == "$connect":
            assert props["AuthorizationType"] == "CUSTOM"
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert props.get("AuthorizationType", "NONE") == "NONE", key
            assert "AuthorizerId" not in props, key


@pytest.mark.parametrize("route", topology.ROUTES, ids=lambda r: r.key)
def test_every_route_but_connect_and_disconnect_returns_the_lambda_body(synth: Synth, route: topology.Route) -> None:
    route_id, props = routes_by_key(synth)[route.key]
    responses = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::RouteResponse").values()
        if r["Properties"]["RouteId"] == {"Ref": route_id}
    ]
    if route.key in NO_REPLY:
        assert "RouteResponseSelectionExpression" not in props
        assert responses == []
    else:
        assert props["RouteResponseSelectionExpression"] == "$default"
        assert [r["RouteResponseKey"] for r in responses] == ["$default"]


def test_stage_auto_deploys_with_throttling_and_access_logs(synth: Synth) -> None:
    stages = synth.of_type("AWS::ApiGatewayV2::Stage")
    assert len(stages) == 1
    (stage,) = stages.values()
    props = stage["Properties"]
    assert props["StageName"] == "prod"
    assert props["AutoDeploy"] is True
    assert props["ApiId"] == {"Ref": api_id(synth)}
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] >= props["DefaultRouteSettings"]["ThrottlingRateLimit"]
    (log_group_id,) = refs(props["AccessLogSettings"]["DestinationArn"])
    assert synth.resources[log_group_id]["Type"] == "AWS::Logs::LogGroup"
    assert synth.resources[log_group_id]["Properties"]["RetentionInDays"] == 30
    fields = json.loads(props["AccessLogSettings"]["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["connectionId"] == "$context.connectionId"
    assert fields["routeKey"] == "$context.routeKey"


def test_account_log_role_is_in_place_before_the_stage(synth: Synth) -> None:
    accounts = synth.of_type("AWS::ApiGateway::Account")
    assert len(accounts) == 1
    ((account_id, account),) = accounts.items()
    (role_id,) = refs(account["Properties"]["CloudWatchRoleArn"])
    role = synth.resources[role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert role["DeletionPolicy"] == "Retain"
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    assert account_id in stage["DependsOn"]


def test_account_log_role_can_be_left_to_an_account_that_has_one(
    cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]
) -> None:
    code, layer = stand_in_assets
    app = cdk.App(context=cdk_context, builtin_cloud_formation_validation=False)
    stack = ChatStack(
        app, "ChatStack", code_asset_dir=code, layer_asset_dir=layer, create_api_gateway_account_role=False
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
