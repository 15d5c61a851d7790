"""Creates the tables declared in the topology (local stack and tests; CDK does it in AWS)."""

from __future__ import annotations

from typing import Any

from chat.config import table_name
from chat.topology import TABLES, Key, Table


def _key_schema(partition: Key, sort: Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def create_table_request(table: Table) -> dict[str, Any]:
    keys = [table.partition, *([table.sort] if table.sort else [])]
    for index in table.indexes:
        keys += [index.partition, *([index.sort] if index.sort else [])]
    attributes = {k.name: {"AttributeName": k.name, "AttributeType": k.type} for k in keys}
    request: dict[str, Any] = {
        "TableName": table_name(table),
        "KeySchema": _key_schema(table.partition, table.sort),
        "AttributeDefinitions": list(attributes.values()),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition, index.sort),
                "Projection": {"ProjectionType": index.projection},
            }
            for index in table.indexes
        ]
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    return request


def create_tables(dynamodb: Any) -> None:
    """`dynamodb` is a boto3 DynamoDB client."""
    for table in TABLES.values():
        dynamodb.create_table(**create_table_request(table))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table_name(table),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
