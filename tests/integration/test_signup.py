"""Sign-up: Cognito's post-confirmation trigger creates the user, once, and returns the event unchanged."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from chat.config import table_name
from chat.store import users
from chat.topology import USERS
from local.events import LOCAL_API, post_confirmation_event
from local.streams import StreamReader
from tests.integration.conftest import Device, sign_up
from tests.integration.support import FakePoster, invoke

CONFIRM_FORGOT_PASSWORD = "PostConfirmation_ConfirmForgotPassword"


def user_item(user_id: str) -> dict[str, Any] | None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    item: dict[str, Any] | None = client.get_item(
        TableName=table_name(USERS), Key={"userId": {"S": user_id}}, ConsistentRead=True
    ).get("Item")
    return item


def test_confirming_an_account_creates_its_user_and_returns_the_event_unchanged(aws: None) -> None:
    event = post_confirmation_event(LOCAL_API, "7d3f0c1e-0000-4000-8000-000000000001")
    original = copy.deepcopy(event)

    result = invoke("signup", event)

    assert result == original
    assert event == original
    item = user_item("7d3f0c1e-0000-4000-8000-000000000001")
    assert item is not None
    assert item["createdAt"]["S"].endswith("Z") and len(item["createdAt"]["S"]) == 24
    assert "connectionIds" not in item


def test_a_second_confirmation_changes_nothing(device: Any) -> None:
    # Given alice signed up, connected a phone and was once seen leaving another device
    phone = device("alice", "phone")
    laptop = device("alice", "laptop")
    laptop.disconnect()
    users.advance_last_seen("alice", "2026-01-02T03:04:05.678Z")
    before = user_item("alice")
    assert before is not None and before["connectionIds"]["SS"] == [phone.connection_id]

    # When her account is confirmed again (a forgotten password) and the sign-up is retried
    assert sign_up("alice", CONFIRM_FORGOT_PASSWORD)["triggerSource"] == CONFIRM_FORGOT_PASSWORD
    sign_up("alice")

    # Then her user item is exactly as it was: createdAt of the first, connections, last seen
    assert user_item("alice") == before


@pytest.mark.parametrize(
    "attributes",
    [{}, {"sub": ""}, {"sub": "x" * 129}, {"sub": 42}, None],
    ids=["no sub", "empty sub", "sub too long", "sub not a string", "no attributes"],
)
def test_an_event_without_a_usable_sub_fails_and_stores_nothing(aws: None, attributes: Any) -> None:
    event = post_confirmation_event(LOCAL_API, "unused")
    event["request"]["userAttributes"] = attributes

    with pytest.raises(Exception, match="sub"):
        invoke("signup", event)

    client = boto3.client("dynamodb", region_name="us-east-1")
    assert client.scan(TableName=table_name(USERS))["Items"] == []


def test_a_direct_message_to_a_signed_up_user_who_never_connected_is_sent(device: Any) -> None:
    sign_up("bob")  # bob has an account but no device has ever connected
    alice = device("alice")

    sent = alice.send("hello bob", to="bob")

    assert sent["type"] == "sent" and sent["seq"] == 1
    # When bob finally connects, his first sync has the message.
    bob = device("bob")
    synced = bob.do({"action": "sync", "cursors": {}})
    assert synced is not None and synced["type"] == "synced"
    assert [c["conversationId"] for c in synced["conversations"]] == [sent["conversationId"]]


def test_a_user_who_never_signed_up_or_connected_is_still_not_found(device: Any) -> None:
    """The check above is not vacuous: without the sign-up, the same message is refused."""
    alice = device("alice")
    reply = alice.send("hello", to="bob")
    assert (reply["type"], reply["code"]) == ("error", "not_found")


def test_a_watcher_sees_a_signed_up_user_come_online_at_their_first_connection(device: Any, poster: FakePoster) -> None:
    # Given bob signed up and never connected, and alice, who wrote to him, watches his presence
    connections_stream = StreamReader.of_table("Connections")
    sign_up("bob")
    alice = device("alice")
    alice.send(to="bob")
    assert invoke("presence_push", connections_stream.event()) == {"batchItemFailures": []}
    alice.call("presence", {"action": "subscribePresence", "userIds": ["bob"]})
    assert poster.of_type(alice.connection_id, "presence") == [
        {"type": "presence", "userId": "bob", "online": False, "lastSeen": None}
    ]

    # When bob's first device connects
    Device("bob", "phone").connect()
    assert invoke("presence_push", connections_stream.event()) == {"batchItemFailures": []}

    # Then alice is told he is online
    assert poster.of_type(alice.connection_id, "presence")[1:] == [
        {"type": "presence", "userId": "bob", "online": True, "lastSeen": None}
    ]
