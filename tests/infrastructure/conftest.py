"""One ChatStack synthesized per test session, from stand-in assets (no pip run for arm64 needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import CfnElement
from aws_cdk.assertions import Template
from constructs import IConstruct

from infrastructure.config import PROJECT_ROOT
from infrastructure.stack import ChatStack


@dataclass(frozen=True)
class Synth:
    stack: ChatStack
    template: Template
    resources: dict[str, dict[str, Any]]
    _ids: dict[str, str] = field(default_factory=dict)

    def logical_id(self, construct: IConstruct) -> str:
        """The logical id of an L2 construct's CloudFormation resource (or of an L1 itself)."""
        path = construct.node.path
        if path not in self._ids:
            element = construct if isinstance(construct, CfnElement) else construct.node.default_child
            assert isinstance(element, CfnElement)
            self._ids[path] = str(self.stack.resolve(element.logical_id))
        return self._ids[path]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """The feature flags the real app runs with, so tests see the template `make synth` produces."""
    return dict(json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"])


@pytest.fixture(scope="session")
def stand_in_assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lambda-assets")
    code = root / "code"
    (code / "functions").mkdir(parents=True)
    (code / "functions" / "__init__.py").write_text("")
    layer = root / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "placeholder.txt").write_text("stand-in for requirements.txt wheels\n")
    return code, layer


@pytest.fixture(scope="session")
def synth(cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]) -> Synth:
    code, layer = stand_in_assets
    # CDK's built-in template validation runs in `make synth`; skipping it here saves seconds per run.
    app = cdk.App(context=cdk_context, builtin_cloud_formation_validation=False)
    stack = ChatStack(app, "ChatStack", code_asset_dir=code, layer_asset_dir=layer)
    template = Template.from_stack(stack)
    return Synth(stack=stack, template=template, resources=template.to_json()["Resources"])
