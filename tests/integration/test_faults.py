"""The faults of chat/faults.py met by the real handlers in-process: a crash is the invocation failing,
not an error frame or a failed record, and a throttled DynamoDB call is retried by the SDK."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chat import faults, receipts
from chat.faults import Crash
from chat.store import conversations
from chat.store import messages as message_store
from local.streams import StreamReader
from tests.integration.support import FakePoster, invoke


def test_a_send_that_dies_after_storing_fails_its_invocation_and_the_retry_answers_the_stored_seq(
    device: Any, inject_faults: Any
) -> None:
    alice, _bob = device("alice"), device("bob")
    conversation_id = alice.send("first", to="bob")["conversationId"]
    inject_faults("send.crash_after_store=1x1")

    # The route adapter turns exceptions into `internal` frames; the crash gets past it: Lambda sees the
    # invocation fail (and API Gateway answers its failed-integration frame)
    with pytest.raises(Crash):
        alice.send("second", client_msg_id="m-2", conversationId=conversation_id)

    retry = alice.send("second", client_msg_id="m-2", conversationId=conversation_id)
    assert (retry["type"], retry["seq"]) == ("sent", 2)
    stored = message_store.messages_after(conversation_id, 0, limit=10)
    assert [(m.seq, m.client_msg_id) for m in stored][1:] == [(2, "m-2")]


def test_a_fan_out_that_dies_fails_the_whole_batch_and_its_retry_posts_again(
    device: Any, poster: FakePoster, messages_stream: StreamReader, inject_faults: Any
) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("one", to="bob")["conversationId"]
    alice.send("two", conversationId=conversation_id)
    event = messages_stream.event()
    assert len(event["Records"]) == 2
    inject_faults("fanout.crash=1x1")

    # Not a partial batch response: the invocation fails after the first message's posts
    with pytest.raises(Crash):
        invoke("fanout", event)
    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [1]

    # Lambda retries the whole batch: bob gets the first again (his device drops the copy), then the second
    assert invoke("fanout", event) == {"batchItemFailures": []}
    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [1, 1, 2]


def test_a_throttled_dynamodb_call_is_the_400_dynamodb_answers_and_the_sdk_retries_it(
    device: Any, inject_faults: Any
) -> None:
    alice, _bob = device("alice"), device("bob")
    table = message_store.MessageModel.Meta.table_name
    key = {"conversationId": {"S": "c"}, "seq": {"N": "1"}}

    # A client that does not retry sees DynamoDB's throttling error as it is
    inject_faults("ddb.throttle=1x1")
    no_retries = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as refused:
        no_retries.get_item(TableName=table, Key=key)
    error = refused.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400

    # The functions' SDK retries it: the send goes through, stored once
    inject_faults("ddb.throttle=1x2")
    sent = alice.send("throttled twice", to="bob")
    assert faults.current().active[0]["fired"] == 2
    assert [m.text for m in message_store.messages_after(sent["conversationId"], 0, limit=10)] == ["throttled twice"]


def test_a_receipt_push_that_dies_between_releasing_a_group_minimum_and_moving_it_is_healed_by_its_retry(
    device: Any, receipts_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ben, cat = device("ann"), device("ben"), device("cat")
    created = ann.do({"action": "createGroup", "name": "trio", "members": ["ben", "cat"]})
    assert created is not None
    group = created["conversationId"]
    ann.send("hello all", conversationId=group)
    ben.do({"action": "read", "conversationId": group, "seq": 1})
    invoke("receipt_push", receipts_stream.event())
    cat.do({"action": "read", "conversationId": group, "seq": 1})
    event = receipts_stream.event()  # cat's read: the last member at the group's minimum moves

    # When the push dies once cat has left the minimum, before the minimum is moved
    original = receipts.recompute_group_minimum

    def dies_once(*args: Any) -> None:
        monkeypatch.setattr(receipts, "recompute_group_minimum", original)
        raise Crash("died between two writes")

    monkeypatch.setattr(receipts, "recompute_group_minimum", dies_once)
    with pytest.raises(Crash):
        invoke("receipt_push", event)

    # Then Lambda's retry of the batch still moves the all-members watermarks
    assert invoke("receipt_push", event) == {"batchItemFailures": []}
    conversation = conversations.get_conversation(group)
    assert conversation is not None and (conversation.all_delivered, conversation.all_read) == (1, 1)
