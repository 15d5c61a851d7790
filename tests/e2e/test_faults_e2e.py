"""The system under each fault of chat/faults.py, on a local stack of its own where only that fault is on.

Each fault is set to fire a known number of times (`point=1xN`), so what the clients see is the same
on every run; /health says how often it fired, which proves the test met it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chat.clock import iso
from chat.config import default_table_environment
from chat.topology import TABLES
from local.process import LocalStackProcess
from tests.conftest import ARTIFACTS, Frame, WsClient, is_message, unique
from tests.e2e.support import ack, create_group, of_type, receipt, send_in, send_to, until

TABLE_NAMES = default_table_environment()


def table(logical_name: str) -> str:
    return TABLE_NAMES[TABLES[logical_name].env]


@pytest.fixture
def faulty_stack() -> Iterator[Callable[[str], LocalStackProcess]]:
    """`faulty_stack("point=1x1")`: a local stack (own process) with these faults, seeded."""
    started: list[LocalStackProcess] = []

    def start(setting: str) -> LocalStackProcess:
        name = setting.split("=", 1)[0].replace(".", "-")
        log = ARTIFACTS / f"local-stack-fault-{name}.log"
        stack = LocalStackProcess(log_path=log, env={"CHAT_FAULTS": setting, "CHAT_FAULTS_SEED": "1"})
        started.append(stack)
        return stack.start()

    yield start
    for stack in started:
        stack.stop()


def health(stack: LocalStackProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{stack.http_url}/health", timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def fired(stack: LocalStackProcess, point: str) -> int:
    (fault,) = [f for f in health(stack)["faults"] if f["point"] == point]
    return int(fault["fired"])


def stored_messages(stack: LocalStackProcess, conversation_id: str) -> list[tuple[int, str]]:
    """(seq, clientMsgId) of every message stored in the conversation, read from the table itself."""
    items = stack.dynamodb().query(
        TableName=table("Messages"),
        KeyConditionExpression="conversationId = :c",
        ExpressionAttributeValues={":c": {"S": conversation_id}},
        ConsistentRead=True,
    )["Items"]
    return [(int(i["seq"]["N"]), i["clientMsgId"]["S"]) for i in items]


def seqs(device: WsClient, conversation_id: str) -> list[int]:
    """The seqs of every `message` frame the device got for the conversation, duplicates included."""
    return [f["seq"] for f in device.received(is_message(conversation_id))]


def failed_integration(frame: Frame) -> bool:
    """API Gateway's reply when the integration failed: no `type`, a `message`."""
    return "type" not in frame and frame.get("message") == "Internal server error"


async def test_a_send_that_dies_after_storing_is_a_failed_integration_and_its_retry_is_stored_once(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = await asyncio.to_thread(faulty_stack, "send.crash_after_store=1x1")
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)
    frame = send_to(bob, "stored, then the function died")

    # When the send function dies once its write committed, before it replies
    await alice_phone.send(frame)
    reply = await alice_phone.wait_for(failed_integration)

    # Then alice gets API Gateway's failed-integration frame, not an `internal` error of ours
    assert set(reply) == {"message", "connectionId", "requestId"}, reply
    assert fired(stack, "send.crash_after_store") == 1

    # And her retry with the same clientMsgId answers the seq it was stored under: stored once
    retry = await alice_phone.request(frame)
    assert (retry["type"], retry["seq"]) == ("sent", 1), retry
    conversation = retry["conversationId"]
    second = await alice_phone.request(send_in(conversation, "next"))
    assert stored_messages(stack, conversation) == [(1, frame["clientMsgId"]), (2, second["clientMsgId"])]
    await bob_phone.wait_for(is_message(conversation, 2))
    assert seqs(bob_phone, conversation) == [1, 2]
    assert alice_phone.received(of_type("sent", clientMsgId=frame["clientMsgId"])) == [retry]
    await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_a_fan_out_that_dies_partway_is_retried_and_every_device_ends_with_each_message_once(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = await asyncio.to_thread(faulty_stack, "fanout.crash=1x1")
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await WsClient.connect(stack, alice)
    bob_devices = [await WsClient.connect(stack, bob, "phone"), await WsClient.connect(stack, bob, "laptop")]

    # When the fan-out function dies after posting the first message, failing its whole batch
    sent = [await alice_phone.request(send_to(bob, "m1"))]
    conversation = sent[0]["conversationId"]
    sent += [await alice_phone.request(send_in(conversation, f"m{n}")) for n in (2, 3)]
    for device in bob_devices:
        await device.messages(conversation, 3)

    # Then the batch was retried: each device got the first message twice (the copy it drops by
    # (conversationId, seq)) and, once de-duplicated, every message once, in order, nothing lost
    assert fired(stack, "fanout.crash") == 1
    for device in bob_devices:
        assert seqs(device, conversation) == [1, 1, 2, 3], device
        held = {f["seq"]: f["clientMsgId"] for f in device.received(is_message(conversation))}
        assert held == {s["seq"]: s["clientMsgId"] for s in sent}
    assert stored_messages(stack, conversation) == [(s["seq"], s["clientMsgId"]) for s in sent]
    await asyncio.gather(alice_phone.close(), *(d.close() for d in bob_devices))


async def test_a_410_on_a_live_socket_cuts_it_and_the_device_gets_the_message_when_it_reconnects_and_syncs(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = await asyncio.to_thread(faulty_stack, "post.gone=1x1")
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)

    # When @connections answers 410 for bob's live phone (the first post to it: the message or the receipt
    # of alice's own read)
    sent = await alice_phone.request(send_to(bob, "pushed into a lost connection"))
    conversation = sent["conversationId"]

    # Then API Gateway has lost the connection: the phone's socket ends without a close frame (1006)
    await asyncio.wait_for(bob_phone.ws.wait_closed(), timeout=15)
    assert bob_phone.ws.close_code == 1006
    assert fired(stack, "post.gone") == 1

    # And when it reconnects and syncs with its cursors it has the message, once
    held = max(seqs(bob_phone, conversation), default=0)
    bob_again = await WsClient.connect(stack, bob, "phone")
    synced = await bob_again.request({"action": "sync", "cursors": {conversation: held} if held else {}})
    assert [(c["conversationId"], c["lastSeq"]) for c in synced["conversations"]] == [(conversation, 1)]
    assert sorted(set(seqs(bob_phone, conversation) + seqs(bob_again, conversation))) == [1]
    # The lost connection's record went with its $disconnect; the new one gets what comes next
    later = await alice_phone.request(send_in(conversation, "and this one live"))
    await bob_again.wait_for(is_message(conversation, later["seq"]))
    assert [c["userId"] for c in stack.connections()].count(bob) == 1
    await asyncio.gather(alice_phone.close(), bob_again.close())


async def test_429s_from_connections_are_retried_until_the_frame_is_delivered_once(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    # Five: as many as one push tries a post (the first try and four retries), so a post may exhaust its
    # backoff and fail its stream record, which is retried too.
    stack = await asyncio.to_thread(faulty_stack, "post.throttle=1x5")
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)

    # When the first five posts (the message to bob, and the receipt of alice's own read) answer 429
    sent = await alice_phone.request(send_to(bob, "throttled, then delivered"))
    conversation = sent["conversationId"]
    await bob_phone.wait_for(is_message(conversation, 1))
    await bob_phone.wait_for(receipt(conversation, alice, "read", 1))

    # Then both frames arrived, once each (a 429 delivers nothing), with no error anywhere
    assert fired(stack, "post.throttle") == 5
    later = await alice_phone.request(send_in(conversation, "after"))
    await bob_phone.wait_for(is_message(conversation, later["seq"]))
    assert seqs(bob_phone, conversation) == [1, 2]
    assert len(bob_phone.received(receipt(conversation, alice, "read", 1))) == 1
    assert bob_phone.received(of_type("error")) == alice_phone.received(of_type("error")) == []
    await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_every_stream_batch_delivered_twice_changes_nothing_a_client_keeps(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = await asyncio.to_thread(faulty_stack, "stream.duplicate=1")
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_phone = await WsClient.connect(stack, alice)
    bob_phone, carol_phone = await WsClient.connect(stack, bob), await WsClient.connect(stack, carol)

    # Given a direct chat and a group, with messages, acknowledgements and a presence change, every
    # batch of every stream (messages, receipts, connections) delivered a second time
    direct = (await alice_phone.request(send_to(bob, "d1")))["conversationId"]
    await alice_phone.request(send_in(direct, "d2"))
    group = (await create_group(alice_phone, "team", [bob, carol], bob_phone, carol_phone))["conversationId"]
    for n in (1, 2, 3):
        await alice_phone.request(send_in(group, f"g{n}"))
    await bob_phone.messages(direct, 2)
    for device in (bob_phone, carol_phone):
        await device.messages(group, 3)
        await device.send(ack("read", group, 3))
    await bob_phone.send(ack("delivered", direct, 2))
    await alice_phone.wait_for(receipt(direct, bob, "delivered", 2))
    await bob_phone.send(ack("read", direct, 2))
    await alice_phone.wait_for(receipt(direct, bob, "read", 2))
    await alice_phone.wait_for(receipt(group, "*", "read", 3))
    await bob_phone.send({"action": "subscribePresence", "userIds": [carol]})
    await bob_phone.wait_for(of_type("presence", userId=carol, online=True))
    await carol_phone.close()
    await bob_phone.wait_for(of_type("presence", userId=carol, online=False))

    # Then the batches did come twice (clients saw copies) ...
    assert fired(stack, "stream.duplicate") > 0
    assert seqs(bob_phone, direct).count(1) == 2

    # ... and once de-duplicated, messages, check marks and presence are what they are without copies
    assert sorted(set(seqs(bob_phone, direct))) == [1, 2]
    for device in (bob_phone, carol_phone):
        assert sorted(set(seqs(device, group))) == [1, 2, 3]
    assert [len(stored_messages(stack, c)) for c in (direct, group)] == [2, 3]
    bobs_marks = {(f["kind"], f["seq"]) for f in alice_phone.received(receipt(direct, bob))}
    assert bobs_marks == {("delivered", 2), ("read", 2)}
    assert max(f["seq"] for f in alice_phone.received(receipt(group, "*", "read"))) == 3
    presence = [f["online"] for f in bob_phone.received(of_type("presence", userId=carol))]
    assert presence[-1] is False and presence[0] is True
    synced = await alice_phone.request({"action": "sync", "cursors": {direct: 2, group: 3}})
    told = {
        c["conversationId"]: {(r["userId"], r["kind"]): r["seq"] for r in c["receipts"]}
        for c in synced["conversations"]
    }
    assert told[direct] == {(alice, "delivered"): 2, (alice, "read"): 2, (bob, "delivered"): 2, (bob, "read"): 2}
    assert told[group] == {("*", "delivered"): 3, ("*", "read"): 3, (alice, "delivered"): 3, (alice, "read"): 3}
    await asyncio.gather(alice_phone.close(), bob_phone.close())


async def test_a_connection_whose_disconnect_never_came_is_cleaned_up_by_the_first_410(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = await asyncio.to_thread(faulty_stack, "disconnect.drop=1")
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)
    conversation = (await alice_phone.request(send_to(bob, "hello")))["conversationId"]
    await alice_phone.send({"action": "subscribePresence", "userIds": [bob]})
    await alice_phone.wait_for(of_type("presence", userId=bob, online=True))
    (bob_connection,) = [c["connectionId"] for c in stack.connections() if c["userId"] == bob]

    # When bob's phone closes and its $disconnect is never invoked
    await bob_phone.close()
    await until(lambda: fired(stack, "disconnect.drop") == 1, what="the dropped $disconnect")

    # Then its record outlives the socket, and bob still counts as online
    dynamodb = stack.dynamodb()
    key = {"userId": {"S": bob}, "connectionId": {"S": bob_connection}}
    assert "Item" in dynamodb.get_item(TableName=table("Connections"), Key=key, ConsistentRead=True)
    # (Past the grace API Gateway's $connect has, a 410 means the socket is gone: an hour ago, say.)
    dynamodb.update_item(
        TableName=table("Connections"),
        Key=key,
        UpdateExpression="SET connectedAt = :t",
        ExpressionAttributeValues={":t": {"S": iso(time.time() - 3600)}},
    )

    # And the first post to it (410) removes the record and its entry on the user: bob goes offline
    await alice_phone.request(send_in(conversation, "are you there?"))
    offline = await alice_phone.wait_for(of_type("presence", userId=bob, online=False))
    assert offline["lastSeen"] is not None
    assert "Item" not in dynamodb.get_item(TableName=table("Connections"), Key=key, ConsistentRead=True)
    user = dynamodb.get_item(TableName=table("Users"), Key={"userId": {"S": bob}}, ConsistentRead=True)["Item"]
    assert bob_connection not in user.get("connectionIds", {}).get("SS", [])

    # And nothing is lost for bob: his next connection syncs the message
    bob_again = await WsClient.connect(stack, bob)
    await bob_again.request({"action": "sync", "cursors": {conversation: 1}})
    assert seqs(bob_again, conversation) == [2]
    await asyncio.gather(alice_phone.close(), bob_again.close())


async def test_throttled_dynamodb_calls_are_retried_by_the_sdk_and_no_client_notices(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    # At most five throttles in all, so no call can exhaust the SDK's six attempts.
    stack = await asyncio.to_thread(faulty_stack, "ddb.throttle=0.1x5")
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await WsClient.connect(stack, alice), await WsClient.connect(stack, bob)

    # When DynamoDB throttles some of the calls signing in, connecting, sending, fanning out and acking
    conversation = (await alice_phone.request(send_to(bob, "m1")))["conversationId"]
    for n in range(2, 7):
        sent = await alice_phone.request(send_in(conversation, f"m{n}"))
        assert (sent["type"], sent["seq"]) == ("sent", n), sent
    await bob_phone.messages(conversation, 6)
    await bob_phone.send(ack("read", conversation, 6))
    await alice_phone.wait_for(receipt(conversation, bob, "read", 6))

    # Then every one was retried until it went through: nothing failed, nothing is missing or doubled
    assert fired(stack, "ddb.throttle") == 5
    assert seqs(bob_phone, conversation) == [1, 2, 3, 4, 5, 6]
    assert [seq for seq, _ in stored_messages(stack, conversation)] == [1, 2, 3, 4, 5, 6]
    assert alice_phone.received(of_type("error")) == bob_phone.received(of_type("error")) == []
    assert not alice_phone.received(failed_integration)
    await asyncio.gather(alice_phone.close(), bob_phone.close())


def test_health_lists_the_faults_switched_on_and_how_often_each_fired(
    faulty_stack: Callable[[str], LocalStackProcess],
) -> None:
    stack = faulty_stack("post.gone=0.5,disconnect.drop=1x3")
    assert health(stack)["faults"] == [
        {"point": "post.gone", "probability": 0.5, "times": None, "fired": 0},
        {"point": "disconnect.drop", "probability": 1.0, "times": 3, "fired": 0},
    ]
