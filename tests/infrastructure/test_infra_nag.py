"""cdk-nag (AwsSolutions) finds nothing unacknowledged, and every acknowledgment is earned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

import infrastructure.nag
from infrastructure.stack import ChatStack
from tests.infrastructure.conftest import Synth


def test_no_unacknowledged_findings(synth: Synth) -> None:
    report = AwsSolutionsChecks().validate_scope(synth.stack)
    findings = [f"{v.rule_name} at {[r.construct_path for r in v.violating_resources]}" for v in report.violations]
    assert findings == []
    assert report.success is True


def test_no_error_annotations(synth: Synth) -> None:
    annotations = Annotations.from_stack(synth.stack)
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_error("*", Match.any_value()) == []


def test_the_nag_check_does_catch_a_finding(cdk_context: dict[str, Any]) -> None:
    """The check above is not vacuous: a table without point-in-time recovery is reported."""
    stack = cdk.Stack(cdk.App(context=cdk_context), "Bare")
    dynamodb.Table(stack, "T", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING))
    report = AwsSolutionsChecks().validate_scope(stack)
    assert "AwsSolutions-DDB3" in {v.rule_name for v in report.violations}
    assert report.success is False


class _RecordingValidations:
    """Stands in for aws_cdk.Validations: records acknowledgments instead of applying them."""

    recorded: list[tuple[str, str, str]] = []

    def __init__(self, construct: IConstruct) -> None:
        self._path = construct.node.path

    @classmethod
    def of(cls, construct: IConstruct) -> _RecordingValidations:
        return cls(construct)

    def acknowledge(self, *rules: cdk.Acknowledgment) -> None:
        self.recorded.extend((self._path, rule.id, rule.reason) for rule in rules)


def test_every_acknowledgment_names_a_real_finding_on_its_resource(
    monkeypatch: pytest.MonkeyPatch, cdk_context: dict[str, Any], stand_in_assets: tuple[Path, Path]
) -> None:
    """Synthesize without acknowledgments: each one we make must match a finding under its construct,
    and every finding must be acknowledged. No blanket, stale or stack-wide suppressions."""
    monkeypatch.setattr(_RecordingValidations, "recorded", [])
    monkeypatch.setattr(infrastructure.nag, "Validations", _RecordingValidations)
    code, layer = stand_in_assets
    stack = ChatStack(cdk.App(context=cdk_context), "ChatStack", code_asset_dir=code, layer_asset_dir=layer)
    report = AwsSolutionsChecks().validate_scope(stack)
    findings = {(r.construct_path or "", v.rule_name) for v in report.violations for r in v.violating_resources}
    acknowledged = _RecordingValidations.recorded

    assert acknowledged, "the stack acknowledges findings"
    for path, rule_id, reason in acknowledged:
        assert path != "ChatStack", f"{rule_id} acknowledged stack-wide"
        assert len(reason) >= 40, f"{rule_id} on {path} needs a real reason"
        assert any(rule == rule_id and where.startswith(path + "/") for where, rule in findings), (
            f"{rule_id} acknowledged on {path} but not found there"
        )
    for where, rule in findings:
        assert any(rule == rule_id and where.startswith(path + "/") for path, rule_id, _ in acknowledged), (
            f"{rule} at {where} is not acknowledged"
        )
