"""Cognito user pool, app client and sign-up trigger; the stack outputs clients and the web app read."""

from __future__ import annotations

from chat import topology
from tests.infrastructure.cfn import as_list, join_text, refs
from tests.infrastructure.conftest import Synth


def test_user_pool_allows_email_self_sign_up_with_a_strong_password(synth: Synth) -> None:
    pools = synth.of_type("AWS::Cognito::UserPool")
    assert len(pools) == 1
    (pool,) = pools.values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert props["UsernameAttributes"] == ["email"]
    assert props["AutoVerifiedAttributes"] == ["email"]
    assert props["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert pool["DeletionPolicy"] == "Retain"


def test_app_client_is_public_with_password_and_srp_flows(synth: Synth) -> None:
    clients = synth.of_type("AWS::Cognito::UserPoolClient")
    assert len(clients) == 1
    (client,) = clients.values()
    props = client["Properties"]
    assert props["UserPoolId"] == {"Ref": synth.logical_id(synth.stack.identity.user_pool)}
    assert props["GenerateSecret"] is False
    assert set(props["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert "AllowedOAuthFlows" not in props


def test_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    api = synth.logical_id(synth.stack.api.api)
    endpoint = f"<{api}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/prod"
    assert join_text(outputs["WebSocketUrl"]["Value"]) == f"wss://{endpoint}"
    assert join_text(outputs["CallbackUrl"]["Value"]) == f"https://{endpoint}"
    assert outputs["UserPoolId"]["Value"] == {"Ref": synth.logical_id(synth.stack.identity.user_pool)}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": synth.logical_id(synth.stack.identity.client)}


def signup_function_id(synth: Synth) -> str:
    return synth.logical_id(synth.stack.functions[topology.SIGNUP])


def test_confirming_an_account_invokes_the_signup_function_and_nothing_else(synth: Synth) -> None:
    (pool,) = synth.of_type("AWS::Cognito::UserPool").values()
    signup_arn = {"Fn::GetAtt": [signup_function_id(synth), "Arn"]}
    assert pool["Properties"]["LambdaConfig"] == {"PostConfirmation": signup_arn}


def test_only_this_user_pool_may_invoke_the_signup_function(synth: Synth) -> None:
    pool = synth.logical_id(synth.stack.identity.user_pool)
    cognito_permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert cognito_permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [signup_function_id(synth), "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [pool, "Arn"]},
        }
    ]
    signup_permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if refs(p["Properties"]["FunctionName"]) == {signup_function_id(synth)}
    ]
    assert signup_permissions == cognito_permissions  # no API Gateway route or authorizer reaches it


def test_the_signup_function_is_neither_a_route_nor_a_stream_consumer(synth: Synth) -> None:
    signup = signup_function_id(synth)
    for integration in synth.of_type("AWS::ApiGatewayV2::Integration").values():
        assert signup not in refs(integration["Properties"]["IntegrationUri"])
    for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        assert refs(mapping["Properties"]["FunctionName"]) != {signup}


def test_the_signup_function_does_not_refer_to_the_user_pool(synth: Synth) -> None:
    """The pool refers to the function (its trigger): a reference back would be a dependency cycle,
    which CloudFormation refuses (and CDK's Template.from_stack already fails on)."""
    pool = synth.logical_id(synth.stack.identity.user_pool)
    assert pool not in depends_on_closure(synth, signup_function_id(synth))
    assert signup_function_id(synth) in depends_on_closure(synth, pool)


def direct_dependencies(synth: Synth, resource_id: str) -> set[str]:
    """Resources this one refers to (Ref, Fn::GetAtt) or names in DependsOn."""
    resource = synth.resources[resource_id]
    return refs(resource.get("Properties", {})) | set(as_list(resource.get("DependsOn", [])))


def depends_on_closure(synth: Synth, resource_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [resource_id]
    while todo:
        for dependency in direct_dependencies(synth, todo.pop()):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen
