"""Every topology function: runtime, handler, environment, and exactly the access it declares."""

from __future__ import annotations

from typing import Any

import pytest

from chat import topology
from tests.infrastructure.cfn import as_list, get_atts, join_text, refs, statements_of_role
from tests.infrastructure.conftest import Synth

FUNCTIONS = list(topology.FUNCTIONS.values())
POSTING = [f for f in FUNCTIONS if f.posts]
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"}


def function_props(synth: Synth, name: str) -> dict[str, Any]:
    return synth.resources[synth.logical_id(synth.stack.functions[name])]["Properties"]


def role_statements(synth: Synth, name: str) -> list[dict[str, Any]]:
    return statements_of_role(synth.resources, synth.logical_id(synth.stack.functions.roles[name]))


def table_actions(synth: Synth, name: str) -> dict[str, set[str]]:
    """Table logical id -> actions the function's role may perform on the table itself."""
    granted: dict[str, set[str]] = {}
    for statement in role_statements(synth, name):
        for resource in as_list(statement["Resource"]):
            for table in get_atts(resource, "Arn"):
                if synth.resources[table]["Type"] == "AWS::DynamoDB::Table" and resource == {
                    "Fn::GetAtt": [table, "Arn"]
                }:
                    granted.setdefault(table, set()).update(as_list(statement["Action"]))
    return granted


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

    api = synth.logical_id(synth.stack.api.api)
    if spec.posts:
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


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_table_access_is_exactly_the_topology(synth: Synth, spec: topology.Function) -> None:
    granted = table_actions(synth, spec.name)
    expected = {synth.logical_id(synth.stack.tables[name]): name for name in {*spec.reads, *spec.writes}}
    assert set(granted) == set(expected)
    for table_id, name in expected.items():
        assert granted[table_id] >= READ_ACTIONS, name
        if name in spec.writes:
            assert granted[table_id] >= WRITE_ACTIONS, name
        else:
            assert not granted[table_id] & WRITE_ACTIONS, name


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_index_queries_allowed_on_tables_with_indexes(synth: Synth, spec: topology.Function) -> None:
    index_resources = {
        join_text(resource)
        for statement in role_statements(synth, spec.name)
        for resource in as_list(statement["Resource"])
        if isinstance(resource, dict) and "Fn::Join" in resource and join_text(resource).endswith("/index/*")
    }
    expected = {
        f"<{synth.logical_id(synth.stack.tables[name])}.Arn>/index/*"
        for name in {*spec.reads, *spec.writes}
        if topology.TABLES[name].indexes
    }
    assert index_resources == expected


def manage_connections_resources(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(
        join_text(resource)
        for statement in statements
        if any(action.startswith("execute-api:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    )


def test_manage_connections_granted_to_posting_functions_only(synth: Synth) -> None:
    api = synth.logical_id(synth.stack.api.api)
    expected = sorted(
        f"arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api}>/prod/{method}/@connections/*"
        for method in ("POST", "GET", "DELETE")
    )
    assert POSTING, "the topology has posting functions"
    for spec in FUNCTIONS:
        statements = role_statements(synth, spec.name)
        resources = manage_connections_resources(statements)
        if spec.posts:
            assert resources == expected, spec.name
            (statement,) = (s for s in statements if "execute-api:ManageConnections" in as_list(s["Action"]))
            assert as_list(statement["Action"]) == ["execute-api:ManageConnections"]
        else:
            assert resources == [], spec.name


def test_no_policy_in_the_stack_lets_a_non_posting_role_manage_connections(synth: Synth) -> None:
    posting_roles = {synth.logical_id(synth.stack.functions.roles[f.name]) for f in POSTING}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if manage_connections_resources(statements):
            assert refs(policy["Properties"]["Roles"]) <= posting_roles
