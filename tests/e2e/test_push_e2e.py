"""Push notifications over real sockets: what the local stack's recording notifier (`/dev/notifications`)
says would have been sent to devices without an open socket."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from tests.conftest import unique
from tests.e2e.support import create_group, of_type, send_many


def notifications(stack: Any) -> dict[str, list[dict[str, Any]]]:
    with urllib.request.urlopen(f"{stack.http_url}/dev/notifications", timeout=10) as response:
        return dict(json.loads(response.read()))


async def notified(stack: Any, user_id: str, kind: str = "notifications") -> list[dict[str, Any]]:
    found = await asyncio.to_thread(notifications, stack)
    return [n for n in found[kind] if n["userId"] == user_id]


async def wait_notified(stack: Any, user_id: str, kind: str = "notifications") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(300):
        found = await notified(stack, user_id, kind)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user_id} was never in /dev/notifications {kind}")


async def offline_with_token(ws_connect: Any, user_id: str, platform: str = "fcm", token: str = "tok") -> None:
    device = await ws_connect(user_id, "phone")
    reply = await device.request({"action": "registerPush", "platform": platform, "token": token})
    assert reply["type"] == "pushRegistered", reply
    await device.close()
    await asyncio.sleep(0.3)  # $disconnect removes the connection


async def test_an_offline_device_is_notified_once_for_a_burst(ws_connect: Any, local_stack: Any) -> None:
    alice, bob = unique("alice"), unique("bob")
    await offline_with_token(ws_connect, alice)
    sender = await ws_connect(bob)

    conversation = await send_many(sender, 50, to=alice)

    (first,) = await wait_notified(local_stack, alice)
    assert (first["deviceId"], first["senderId"], first["conversationId"], first["preview"]) == (
        "phone",
        bob,
        conversation,
        "m1",
    )
    await asyncio.sleep(2)  # the other 49 records are processed meanwhile: coalesced
    assert len(await notified(local_stack, alice)) == 1


async def test_muted_and_online_devices_are_not_notified(ws_connect: Any, local_stack: Any) -> None:
    alice, carol, dave, bob = unique("alice"), unique("carol"), unique("dave"), unique("bob")
    sender, alice_phone, online, dave_phone = (
        await ws_connect(bob),
        await ws_connect(alice),
        await ws_connect(carol),
        await ws_connect(dave),
    )
    group = (await create_group(sender, "club", [alice, carol, dave], alice_phone, online, dave_phone))[
        "conversationId"
    ]
    # alice muted the group and went away; carol keeps her socket open; dave went away.
    assert (await alice_phone.request({"action": "mute", "conversationId": group}))["muted"] is True
    for device in (alice_phone, online, dave_phone):
        reply = await device.request({"action": "registerPush", "platform": "fcm", "token": "t"})
        assert reply["type"] == "pushRegistered", reply
    await alice_phone.close()
    await dave_phone.close()
    await asyncio.sleep(0.3)  # $disconnect removes their connections

    sent = await sender.request(
        {"action": "send", "conversationId": group, "clientMsgId": unique("m"), "body": {"text": "hi all"}}
    )
    assert sent["type"] == "sent"

    # One record notifies every device: once dave is told, alice and carol were passed over.
    (told,) = await wait_notified(local_stack, dave)
    assert (told["conversationId"], told["preview"]) == (group, "hi all")
    await online.wait_for(of_type("message", conversationId=group))  # carol's open socket got it instead
    assert await notified(local_stack, alice) == []
    assert await notified(local_stack, carol) == []
    assert await notified(local_stack, bob) == []


async def test_a_rejected_token_is_removed(ws_connect: Any, local_stack: Any) -> None:
    alice, bob = unique("alice"), unique("bob")
    await offline_with_token(ws_connect, alice, token="rejected-app-removed")
    sender = await ws_connect(bob)

    await send_many(sender, 1, to=alice)

    (rejected,) = await wait_notified(local_stack, alice, "rejected")
    assert rejected["token"] == "rejected-app-removed"
    table = local_stack.dynamodb()

    def token_rows() -> list[Any]:
        return table.query(
            TableName="chat-PushTokens",
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": alice}},
            ConsistentRead=True,
        )["Items"]

    for _ in range(100):
        if not await asyncio.to_thread(token_rows):
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(token_rows) == []
    assert await notified(local_stack, alice) == []
