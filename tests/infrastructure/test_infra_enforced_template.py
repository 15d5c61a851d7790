"""The template the local stack and the tests enforce is the one `make synth` ships."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.config import PROJECT_ROOT
from local.iam import Policies
from tests.infrastructure.conftest import Synth

SHIPPED = PROJECT_ROOT / "cdk.out" / "ChatStack.template.json"


def iam_and_functions(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What decides who may do what: policies, roles, and each function's handler, role and environment."""
    kept = {}
    for logical_id, resource in resources.items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role"):
            kept[logical_id] = resource["Properties"]
        elif resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            kept[logical_id] = {k: props.get(k) for k in ("Handler", "Role", "Environment")}
    return kept


@pytest.mark.skipif(not SHIPPED.exists(), reason="no cdk.out: `make synth` (part of `make test`) writes it")
def test_the_enforced_template_grants_what_the_shipped_one_grants(synth: Synth) -> None:
    shipped = json.loads(SHIPPED.read_text())["Resources"]
    assert iam_and_functions(synth.resources) == iam_and_functions(shipped), "cdk.out is stale? run `make synth`"


def test_every_topology_function_has_its_policies_read(synth: Synth) -> None:
    policies = Policies.from_template({"Resources": synth.resources})
    granted = {grant.function for grant in policies.grants}
    # Every function but those that touch no AWS service at all has DynamoDB or @connections grants.
    from chat.topology import FUNCTIONS

    needs_aws = {name for name, spec in FUNCTIONS.items() if spec.grants or spec.posts}
    assert needs_aws <= granted
    for name in needs_aws:
        assert any(g.action.startswith(("dynamodb:", "execute-api:")) for g in policies.grants if g.function == name)
