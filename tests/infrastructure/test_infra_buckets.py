"""The attachments bucket: private, TLS only, encrypted, logged, CORS for the web client, uploads/
expiring; and each function granted exactly the object actions chat/topology.py gives it."""

from __future__ import annotations

from typing import Any

import pytest

from chat import topology
from infrastructure.buckets import WEB_ORIGINS_CONTEXT
from tests.infrastructure.conftest import Synth


def bucket(synth: Synth, name: str = "Attachments") -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id(synth.stack.buckets[name])
    return logical_id, synth.resources[logical_id]["Properties"]


def test_one_bucket_per_topology_bucket_and_one_for_access_logs(synth: Synth) -> None:
    assert len(synth.of_type("AWS::S3::Bucket")) == len(topology.BUCKETS) + 1


def test_private_encrypted_and_logged(synth: Synth) -> None:
    _lid, props = bucket(synth)
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    logs = synth.logical_id(synth.stack.buckets.access_logs)
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": logs}, "LogFilePrefix": "attachments/"}


def test_tls_only(synth: Synth) -> None:
    lid, _props = bucket(synth)
    policies = [
        r["Properties"]
        for r in synth.of_type("AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": lid}
    ]
    [policy] = policies
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_cors_lets_the_web_client_post_and_get(synth: Synth, cdk_context: dict[str, Any]) -> None:
    _lid, props = bucket(synth)
    [rule] = props["CorsConfiguration"]["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]
    assert rule["AllowedOrigins"] == cdk_context[WEB_ORIGINS_CONTEXT]
    assert "*" not in rule["AllowedOrigins"]


def test_uploads_expire_after_a_day_and_nothing_else_does(synth: Synth) -> None:
    _lid, props = bucket(synth)
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["Expire-uploads"] == {
        "Id": "Expire-uploads",
        "Prefix": topology.UPLOADS_PREFIX,
        "ExpirationInDays": 1,
        "Status": "Enabled",
    }
    expiring = [r for r in rules.values() if "ExpirationInDays" in r]
    assert [r["Prefix"] for r in expiring] == [topology.UPLOADS_PREFIX]  # attachments/ live with their message
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_message_data_survives_a_destroy(synth: Synth) -> None:
    lid, _props = bucket(synth)
    assert synth.resources[lid]["DeletionPolicy"] == "Retain"


def _object_statements(synth: Synth, function: str) -> list[tuple[list[str], Any]]:
    role = synth.logical_id(synth.stack.functions.roles[function])
    found = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("s3:") for a in actions):
                found.append((sorted(actions), statement["Resource"]))
    return found


@pytest.mark.parametrize("spec", list(topology.FUNCTIONS.values()), ids=lambda f: f.name)
def test_each_function_gets_exactly_its_object_grants(synth: Synth, spec: topology.Function) -> None:
    lid, _props = bucket(synth)
    expected = [
        (
            sorted(f"s3:{a}" for a in actions),
            {"Fn::Join": ["", [{"Fn::GetAtt": [lid, "Arn"]}, f"/{prefix}*"]]},
        )
        for (_bucket, prefix), actions in spec.object_grants.items()
    ]
    assert sorted(_object_statements(synth, spec.name), key=str) == sorted(expected, key=str)


def test_only_functions_with_object_grants_know_the_bucket(synth: Synth) -> None:
    lid, _props = bucket(synth)
    for spec in topology.FUNCTIONS.values():
        function = synth.logical_id(synth.stack.functions[spec.name])
        variables = synth.resources[function]["Properties"]["Environment"]["Variables"]
        assert (variables.get(topology.ATTACHMENTS.env) == {"Ref": lid}) == bool(spec.objects), spec.name


def test_who_may_do_what_with_attachments() -> None:
    """The grants the design needs, and no more (docs/ARCHITECTURE.md, Attachments)."""
    grants = {name: spec.object_grants for name, spec in topology.FUNCTIONS.items() if spec.objects}
    assert grants == {
        "attachments": {("Attachments", "uploads/"): ("PutObject",)},
        "send": {("Attachments", "attachments/"): ("PutObject",), ("Attachments", "uploads/"): ("GetObject",)},
        "fanout": {("Attachments", "attachments/"): ("GetObject",)},
        "sync": {("Attachments", "attachments/"): ("GetObject",)},
        "message_changes": {("Attachments", "attachments/"): ("DeleteObject", "GetObject")},
    }
