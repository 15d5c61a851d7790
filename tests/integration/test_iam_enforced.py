"""The synthesized roles are enforced on every AWS call a function makes, as IAM would in AWS."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chat.concurrency import ContextPool
from chat.config import table_name
from chat.topology import TABLES
from local import iam
from local.events import LOCAL_API, authorized_connection, connect_event
from tests.integration.support import invoke

CONVERSATIONS = table_name(TABLES["Conversations"])
MEMBERS = table_name(TABLES["Members"])
USERS = table_name(TABLES["Users"])


@pytest.fixture(autouse=True)
def own_grant_log(enforced_iam: iam.Enforcer) -> Any:
    """Refusals made on purpose here stay out of the run's grant log (where any refusal is a failure)."""
    run_log, enforced_iam.log = enforced_iam.log, iam.GrantLog()
    yield enforced_iam.log
    enforced_iam.log = run_log


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


def test_a_call_the_role_allows_goes_through_and_its_grant_is_logged(
    dynamodb: Any, own_grant_log: iam.GrantLog
) -> None:
    with iam.acting_as("send"):
        dynamodb.get_item(TableName=CONVERSATIONS, Key={"conversationId": {"S": "x"}})
    assert own_grant_log.used == {iam.Grant("send", "dynamodb:GetItem", iam.table_arn("<Conversations>"))}
    assert own_grant_log.refused == []


def test_a_call_outside_the_role_is_refused_like_aws_and_never_reaches_the_table(dynamodb: Any) -> None:
    # Given the typing function, whose role may only update Limits items (of all tables' writes)
    with pytest.raises(ClientError) as refused, iam.acting_as("typing"):
        dynamodb.put_item(TableName=USERS, Item={"userId": {"S": "mallory"}, "createdAt": {"S": "now"}})
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:" in error["Message"]
    assert "Item" not in dynamodb.get_item(TableName=USERS, Key={"userId": {"S": "mallory"}})


def test_a_scan_is_refused_even_on_a_table_the_function_reads(dynamodb: Any) -> None:
    with pytest.raises(ClientError, match="dynamodb:Scan"), iam.acting_as("fanout"):
        dynamodb.scan(TableName=MEMBERS)


def test_a_transaction_needs_every_item_granted(dynamodb: Any) -> None:
    # receipts may update Members but not Users: one ungranted item refuses the whole transaction
    items = [
        {
            "Update": {
                "TableName": MEMBERS,
                "Key": {"conversationId": {"S": "c"}, "userId": {"S": "u"}},
                "UpdateExpression": "SET readSeq = :s",
                "ExpressionAttributeValues": {":s": {"N": "1"}},
            }
        },
        {"Put": {"TableName": USERS, "Item": {"userId": {"S": "u"}, "createdAt": {"S": "now"}}}},
    ]
    with (
        pytest.raises(ClientError, match=r"dynamodb:PutItem on resource: .*table/chat-Users"),
        iam.acting_as("receipts"),
    ):
        dynamodb.transact_write_items(TransactItems=items)
    assert "Item" not in dynamodb.get_item(TableName=MEMBERS, Key={"conversationId": {"S": "c"}, "userId": {"S": "u"}})


def test_an_index_query_needs_the_index_granted(dynamodb: Any) -> None:
    query = {
        "TableName": MEMBERS,
        "KeyConditionExpression": "userId = :u",
        "ExpressionAttributeValues": {":u": {"S": "a"}},
    }
    with iam.acting_as("sync"):
        dynamodb.query(IndexName="byUser", **query)
    with pytest.raises(ClientError, match=r"index/byUser"), iam.acting_as("fanout"):
        dynamodb.query(IndexName="byUser", **query)


def test_only_post_is_granted_on_connections() -> None:
    client = boto3.client("apigatewaymanagementapi", endpoint_url="http://127.0.0.1:9", region_name="us-east-1")
    with pytest.raises(ClientError) as refused, iam.acting_as("fanout"):
        client.delete_connection(ConnectionId="abc=")
    assert refused.value.response["Error"]["Code"] == "ForbiddenException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "/prod/DELETE/@connections/abc=" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="POST/@connections"), iam.acting_as("send"):
        client.post_to_connection(ConnectionId="abc=", Data=b"{}")  # send does not post at all


def test_work_handed_to_a_thread_pool_acts_as_the_same_function(dynamodb: Any) -> None:
    pool = ContextPool(max_workers=2, name="test")

    def put(user: str) -> None:
        dynamodb.put_item(TableName=USERS, Item={"userId": {"S": user}, "createdAt": {"S": "now"}})

    with iam.acting_as("typing"), pytest.raises(ClientError, match="AccessDenied"):
        list(pool.map(put, ["a", "b"]))


def test_a_pool_thread_that_lost_its_invocation_is_a_bug_not_a_free_pass(dynamodb: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="chat-pool-bare") as bare, iam.acting_as("typing"):
        future = bare.submit(dynamodb.get_item, TableName=USERS, Key={"userId": {"S": "a"}})
        with pytest.raises(iam.UnattributedCall):
            future.result()


def test_a_handler_run_without_a_function_identity_is_caught(aws: None, issuer: Any) -> None:
    from local.lambdas import LambdaContext, load_handler

    event = connect_event(LOCAL_API, authorized_connection("alice", "phone"))
    with pytest.raises(iam.UnattributedCall):
        load_handler("connect")(event, LambdaContext.of("connect"))
    assert invoke("connect", event) == {"statusCode": 200}  # the same, invoked as the function


def test_a_call_after_the_invocation_timed_out_never_leaves(dynamodb: Any) -> None:
    with iam.acting_as("send", timeout_s=0.01), pytest.raises(iam.InvocationTimedOut):
        time.sleep(0.05)
        dynamodb.get_item(TableName=CONVERSATIONS, Key={"conversationId": {"S": "x"}})


def test_an_explicit_deny_wins_over_an_allow() -> None:
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": "functions.send.handler.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                            {
                                "Effect": "Deny",
                                "Action": "dynamodb:DeleteItem",
                                "Resource": "arn:aws:dynamodb:*:*:table/x",
                            },
                        ]
                    },
                },
            },
        }
    }
    with pytest.raises(ValueError, match="no function"):
        iam.Policies.from_template(template)  # every topology function must be in the template
    policies = iam.Policies.from_template(_with_every_function(template))
    assert policies.decide("send", "dynamodb:GetItem", iam.table_arn("x")) is not None
    assert policies.decide("send", "dynamodb:DeleteItem", iam.table_arn("x")) is None
    assert policies.decide("send", "dynamodb:DeleteItem", iam.table_arn("y")) is not None


def _with_every_function(template: dict[str, Any]) -> dict[str, Any]:
    from chat.topology import FUNCTIONS

    resources = dict(template["Resources"])
    for name, spec in FUNCTIONS.items():
        if spec.handler != "functions.send.handler.handler":
            resources[f"Fn{name}"] = {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": spec.handler, "Role": {"Fn::GetAtt": [f"Role{name}", "Arn"]}},
            }
    return {"Resources": resources}


# ---- S3: object calls and presigned URLs -----------------------------------------------------------


def test_s3_object_calls_are_held_to_the_prefixes_granted(aws: None, own_grant_log: iam.GrantLog) -> None:
    from chat.config import bucket_name
    from chat.topology import ATTACHMENTS

    s3, bucket = boto3.client("s3", region_name="us-east-1"), bucket_name(ATTACHMENTS)
    s3.put_object(Bucket=bucket, Key="uploads/c/a", Body=b"x")  # arranged by the test, as no function
    # send may copy an upload to attachments/ (GetObject on the source, PutObject on the destination)...
    with iam.acting_as("send"):
        s3.copy_object(Bucket=bucket, Key="attachments/c/a", CopySource={"Bucket": bucket, "Key": "uploads/c/a"})
    assert own_grant_log.used == {
        iam.Grant("send", "s3:GetObject", "arn:aws:s3:::<bucket:Attachments>/uploads/*"),
        iam.Grant("send", "s3:PutObject", "arn:aws:s3:::<bucket:Attachments>/attachments/*"),
    }
    # ...but not delete one, nor copy the other way; fanout may not write at all.
    with pytest.raises(ClientError, match="s3:DeleteObject") as refused, iam.acting_as("send"):
        s3.delete_object(Bucket=bucket, Key="attachments/c/a")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"  # S3's code, with 403
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError, match="s3:GetObject"), iam.acting_as("send"):  # its source, first
        s3.copy_object(Bucket=bucket, Key="uploads/c/b", CopySource={"Bucket": bucket, "Key": "attachments/c/a"})
    with pytest.raises(ClientError, match="s3:PutObject"), iam.acting_as("fanout"):
        s3.put_object(Bucket=bucket, Key="attachments/c/z", Body=b"x")
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["attachments/c/a", "uploads/c/a"]


def test_a_presigned_url_is_checked_against_its_signer_when_signed(aws: None, own_grant_log: iam.GrantLog) -> None:
    from chat.store import objects

    with iam.acting_as("fanout"):
        assert objects.presign_download("attachments/c/a", 60).startswith("https://")
    # fanout signs downloads, never uploads; the attachments function signs uploads to uploads/ only.
    with pytest.raises(ClientError, match="s3:PutObject"), iam.acting_as("fanout"):
        objects.presign_upload("uploads/c/a", "image/png", 10, {}, 60)
    with pytest.raises(ClientError, match="s3:GetObject"), iam.acting_as("attachments"):
        objects.presign_download("attachments/c/a", 60)
    with pytest.raises(ClientError, match="s3:PutObject"), iam.acting_as("attachments"):
        objects.presign_upload("attachments/c/a", "image/png", 10, {}, 60)
    assert [(r["function"], r["action"]) for r in own_grant_log.refused] == [
        ("fanout", "s3:PutObject"),
        ("attachments", "s3:GetObject"),
        ("attachments", "s3:PutObject"),
    ]
