"""Cognito user pool and app client; the stack outputs clients and the web app read."""

from __future__ import annotations

from tests.infrastructure.cfn import join_text
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
