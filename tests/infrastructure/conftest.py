"""One ChatStack synthesized per test session, from stand-in assets (no pip run for arm64 needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnElement
from aws_cdk.assertions import Template
from constructs import IConstruct

from infrastructure import template
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
    return template.cdk_context()


@pytest.fixture(scope="session")
def stand_in_assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return template.stand_in_assets(tmp_path_factory.mktemp("lambda-assets"))


@pytest.fixture(scope="session")
def synth(stand_in_assets: tuple[Path, Path]) -> Synth:
    stack = template.build_stack(*stand_in_assets)
    synthesized = Template.from_stack(stack)
    return Synth(stack=stack, template=synthesized, resources=synthesized.to_json()["Resources"])
