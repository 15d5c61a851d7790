"""Every topology function: runtime, handler, environment, and exactly the access it declares."""

from __future__ import annotations

from typing import Any

import pytest

from chat import topology
from tests.infrastructure.cfn import as_list, join_text, refs, statements_of_role
from tests.infrastructure.conftest import Synth

FUNCTIONS = list(topology.FUNCTIONS.values())
POSTING = [f for f in FUNCTIONS if f.posts]


def function_props(synth: Synth, name: str) -> dict[str, Any]:
    return synth.resources[synth.logical_id(synth.stack.functions[name])]["Properties"]


def role_statements(synth: Synth, name: str) -> list[dict[str, Any]]:
    return statements_of_role(synth.resources, synth.logical_id(synth.stack.functions.roles[name]))


def test_one_lambda_function_per_topology_function(synth: Synth) -> None:
    """No helper functions (custom resources, log retention) sneak in beside the topology's."""
    assert len(synth.of_type("AWS::Lambda::Function")) == len(topology.FUNCTIONS)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_runtime_architecture_and_sizing(synth: Synth, spec: topology.Function) -> None:
    props = function_props(synth, spec.name)
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert "TracingConfig" not in props, "no handler traces: X-Ray stays off (PassThrough)"
    assert props["Description"] == spec.description


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_code_asset_and_dependency_layer(synth: Synth, spec: topology.Function) -> None:
    props = function_props(synth, spec.name)
    (layer_id,) = synth.of_type("AWS::Lambda::LayerVersion")
    layer = synth.resources[layer_id]["Properties"]
    assert props["Layers"] == [{"Ref": layer_id}]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert layer["CompatibleRuntimes"] == ["python3.12"]
    assert props["Code"]["S3Key"].endswith(".zip")


def test_no_role_may_write_x_ray_traces(synth: Synth) -> None:
    """Tracing is off, so nothing grants X-Ray access (CDK adds it with active tracing)."""
    granted = [
        action
        for policy in synth.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    ]
    assert granted, "the stack has policies"
    assert [action for action in granted if action.lower().startswith("xray:")] == []
    for role in synth.of_type("AWS::IAM::Role").values():
        managed = " ".join(str(arn) for arn in role["Properties"].get("ManagedPolicyArns", []))
        assert "XRay" not in managed


def test_all_functions_share_one_code_asset(synth: Synth) -> None:
    keys = {function_props(synth, spec.name)["Code"]["S3Key"] for spec in FUNCTIONS}
    assert len(keys) == 1


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_logs_go_to_a_one_month_group_the_role_alone_may_write(synth: Synth, spec: topology.Function) -> None:
    props = function_props(synth, spec.name)
    (group_id,) = refs(props["LoggingConfig"]["LogGroup"])
    assert synth.resources[group_id]["Properties"]["RetentionInDays"] == 30
    logs = [s for s in role_statements(synth, spec.name) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
    assert logs == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]
    role = synth.resources[synth.logical_id(synth.stack.functions.roles[spec.name])]
    assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_environment(synth: Synth, spec: topology.Function) -> None:
    env = function_props(synth, spec.name)["Environment"]["Variables"]
    for table in topology.TABLES.values():
        assert env[table.env] == {"Ref": synth.logical_id(synth.stack.tables[table.logical_name])}
    assert env["POWERTOOLS_SERVICE_NAME"] == "chat"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Chat"
    assert env["LOG_LEVEL"] == "INFO"

    assert env[topology.ENV_CONNECTION_LEASE_S] == str(topology.CONNECTION_LEASE_S) == "720"

    api = synth.logical_id(synth.stack.api.api)
    if spec.posts or spec.closes:
        assert join_text(env[topology.ENV_CALLBACK_URL]) == (
            f"https://<{api}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/prod"
        )
    else:
        assert topology.ENV_CALLBACK_URL not in env

    jwt_vars = {topology.ENV_JWT_ISSUER, topology.ENV_JWT_AUDIENCE, topology.ENV_JWKS_URL}
    if spec.name == topology.AUTHORIZER:
        pool = synth.logical_id(synth.stack.identity.user_pool)
        client = synth.logical_id(synth.stack.identity.client)
        issuer = f"https://cognito-idp.<AWS::Region>.amazonaws.com/<{pool}>"
        assert join_text(env[topology.ENV_JWT_ISSUER]) == issuer
        assert env[topology.ENV_JWT_AUDIENCE] == {"Ref": client}
        assert join_text(env[topology.ENV_JWKS_URL]) == f"{issuer}/.well-known/jwks.json"
    else:
        assert not jwt_vars & set(env)


def dynamodb_grants(synth: Synth, name: str) -> dict[tuple[str, str | None], set[str]]:
    """(table name, index name) -> DynamoDB actions on that table or index (stream reads excluded)."""
    table_names = {synth.logical_id(synth.stack.tables[t]): t for t in topology.TABLES}
    granted: dict[tuple[str, str | None], set[str]] = {}
    for statement in role_statements(synth, name):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
        if not actions or actions <= STREAM_READ_ACTIONS:
            continue
        for resource in as_list(statement["Resource"]):
            if resource == {"Fn::GetAtt": [resource.get("Fn::GetAtt", [""])[0], "Arn"]}:
                key = (table_names[resource["Fn::GetAtt"][0]], None)
            else:
                text = join_text(resource)
                table_id, _, index = text.removeprefix("<").partition(".Arn>/index/")
                key = (table_names[table_id], index)
            granted.setdefault(key, set()).update(actions)
    return granted


# Granted to stream functions by their event source mapping, on the stream ARN (and ListStreams on *).
STREAM_READ_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_dynamodb_access_is_exactly_what_the_topology_declares(synth: Synth, spec: topology.Function) -> None:
    expected = {key: {f"dynamodb:{a}" for a in actions} for key, actions in spec.grants.items()}
    assert dynamodb_grants(synth, spec.name) == expected


def test_no_role_gets_table_wide_bundles_or_wildcards(synth: Synth) -> None:
    """Scan, BatchWriteItem on every table, `dynamodb:*`, `index/*`: nothing a function does not call."""
    for spec in FUNCTIONS:
        for statement in role_statements(synth, spec.name):
            for action in as_list(statement["Action"]):
                assert "*" not in action, (spec.name, action)
                assert action != "dynamodb:Scan", spec.name
            for resource in as_list(statement["Resource"]):
                if isinstance(resource, dict) and "Fn::Join" in resource:
                    assert not join_text(resource).endswith("/index/*"), spec.name


@pytest.mark.parametrize("spec", [f for f in FUNCTIONS if f.posts], ids=lambda f: f.name)
def test_posting_functions_may_clean_up_a_gone_socket(synth: Synth, spec: topology.Function) -> None:
    granted = dynamodb_grants(synth, spec.name)
    assert {"dynamodb:GetItem", "dynamodb:DeleteItem"} <= granted[("Connections", None)]
    assert "dynamodb:UpdateItem" in granted[("Users", None)]


def manage_connections_resources(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(
        join_text(resource)
        for statement in statements
        if any(action.startswith("execute-api:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    )


def test_manage_connections_granted_for_post_to_posting_functions_and_delete_to_closing_ones(synth: Synth) -> None:
    """POST to push frames, DELETE to close sockets (the sweep only): nobody looks a connection up (GET)."""
    api = synth.logical_id(synth.stack.api.api)

    def arn(method: str) -> str:
        return f"arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api}>/prod/{method}/@connections/*"

    assert POSTING, "the topology has posting functions"
    assert [f.name for f in FUNCTIONS if f.closes] == ["sweep"]
    for spec in FUNCTIONS:
        statements = role_statements(synth, spec.name)
        resources = manage_connections_resources(statements)
        expected = sorted([arn("POST")] * spec.posts + [arn("DELETE")] * spec.closes)
        assert resources == expected, spec.name
        if expected:
            (statement,) = (s for s in statements if "execute-api:ManageConnections" in as_list(s["Action"]))
            assert as_list(statement["Action"]) == ["execute-api:ManageConnections"]


def test_no_policy_in_the_stack_lets_another_role_manage_connections(synth: Synth) -> None:
    managing = {synth.logical_id(synth.stack.functions.roles[f.name]) for f in FUNCTIONS if f.posts or f.closes}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if manage_connections_resources(statements):
            assert refs(policy["Properties"]["Roles"]) <= managing
