"""Every topology table, with its keys, indexes, TTL, stream, recovery and retention."""

from __future__ import annotations

from typing import Any

import pytest

from chat import topology
from tests.infrastructure.conftest import Synth

TABLES = list(topology.TABLES.values())


def table_resource(synth: Synth, spec: topology.Table) -> dict[str, Any]:
    return synth.resources[synth.logical_id(synth.stack.tables[spec.logical_name])]


def key_schema(partition: topology.Key, sort: topology.Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def test_one_table_per_topology_table(synth: Synth) -> None:
    assert len(synth.of_type("AWS::DynamoDB::Table")) == len(topology.TABLES)


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_keys(synth: Synth, spec: topology.Table) -> None:
    props = table_resource(synth, spec)["Properties"]
    assert props["KeySchema"] == key_schema(spec.partition, spec.sort)
    keys = [spec.partition, spec.sort] + [k for i in spec.indexes for k in (i.partition, i.sort)]
    expected = {k.name: k.type for k in keys if k}
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == expected


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_global_secondary_indexes_project_what_the_topology_says(synth: Synth, spec: topology.Table) -> None:
    props = table_resource(synth, spec)["Properties"]
    expected = [
        {
            "IndexName": index.name,
            "KeySchema": key_schema(index.partition, index.sort),
            "Projection": {"ProjectionType": index.projection},
        }
        for index in spec.indexes
    ]
    assert props.get("GlobalSecondaryIndexes", []) == expected


def test_the_lease_index_holds_keys_only() -> None:
    """A renewed lease moves the item in byLease; a watched set (presenceWatch) changing writes nothing there."""
    assert [(i.name, i.projection) for i in topology.TABLES["Connections"].indexes] == [("byLease", "KEYS_ONLY")]
    assert [(i.name, i.projection) for i in topology.TABLES["Members"].indexes] == [("byUser", "ALL")]


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_ttl_attribute(synth: Synth, spec: topology.Table) -> None:
    props = table_resource(synth, spec)["Properties"]
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_stream_view(synth: Synth, spec: topology.Table) -> None:
    props = table_resource(synth, spec)["Properties"]
    if spec.stream:
        assert props["StreamSpecification"] == {"StreamViewType": spec.stream}
    else:
        assert "StreamSpecification" not in props


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_on_demand_recoverable_and_encrypted(synth: Synth, spec: topology.Table) -> None:
    props = table_resource(synth, spec)["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.logical_name)
def test_retained_tables_survive_deletion_and_replacement(synth: Synth, spec: topology.Table) -> None:
    resource = table_resource(synth, spec)
    expected = "Retain" if spec.retain else "Delete"
    assert resource["DeletionPolicy"] == expected
    assert resource["UpdateReplacePolicy"] == expected


def test_message_history_tables_are_retained() -> None:
    """The topology's own promise; guards against a silent flip of `retain`."""
    assert topology.TABLES["Messages"].retain
    assert topology.TABLES["Conversations"].retain
