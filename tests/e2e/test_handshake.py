"""The handshake: who may connect, and that a refused connection leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from local.issuer import LocalIssuer
from tests.conftest import WsClient, refused_status, unique, ws_address


async def test_a_valid_token_and_device_id_connect(local_stack) -> None:
    user = unique("carol")
    assert await refused_status(local_stack, local_stack.token(user), "phone_1-A") is None


@pytest.mark.parametrize(
    ("case", "device_id", "status"),
    [
        ("no token", "phone", 401),
        ("empty token", "phone", 401),
        ("not a JWT", "phone", 401),
        ("forged", "phone", 401),
        ("expired", "phone", 401),
        ("wrong issuer", "phone", 401),
        ("valid", None, 401),
        ("valid", "", 401),
        ("valid", "has space", 401),
        ("valid", "x" * 65, 401),
        ("valid", "semi;colon", 401),
    ],
)
async def test_a_bad_handshake_is_refused_and_stores_nothing(
    local_stack, tmp_path, case: str, device_id: str | None, status: int
) -> None:
    user = unique("mallory")
    other = LocalIssuer(tmp_path)
    token = {
        "no token": None,
        "empty token": "",
        "not a JWT": "abc.def.ghi",
        "forged": other.issue(user),  # right claims, signed by another key
        "expired": local_stack.token(user, ttl_s=-120),
        "wrong issuer": LocalIssuer(tmp_path / "2", issuer="https://evil.example").issue(user),
        "valid": local_stack.token(user),
    }[case]

    assert await refused_status(local_stack, token, device_id) == status

    # Getting a token signed mallory up; the refused handshake added nothing to her user.
    dynamodb = local_stack.dynamodb()
    item = dynamodb.get_item(TableName="chat-Users", Key={"userId": {"S": user}}, ConsistentRead=True)["Item"]
    assert set(item) == {"userId", "createdAt", "lastSeen"}
    assert item["lastSeen"] == {"S": ""}  # never seen
    connections = dynamodb.query(
        TableName="chat-Connections",
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user}},
    )
    assert connections["Items"] == []


async def test_the_socket_lives_at_ws_only(local_stack) -> None:
    token = local_stack.token(unique("dave"))
    assert await refused_status(local_stack, token, "phone", path="/elsewhere") == 404


async def test_a_known_user_can_connect_many_devices(local_stack) -> None:
    user = unique("erin")
    devices = [await WsClient.connect(local_stack, user, f"d{i}") for i in range(3)]
    try:
        mine = [c for c in local_stack.connections() if c["userId"] == user]
        assert sorted(c["deviceId"] for c in mine) == ["d0", "d1", "d2"]
        for device in devices:
            assert (await device.request({"action": "ping"}))["type"] == "pong"
    finally:
        for device in devices:
            await device.close()


async def test_in_a_browser_only_the_stacks_own_web_client_may_connect_or_get_tokens(local_stack) -> None:
    user = unique("frank")
    address = ws_address(local_stack, local_stack.token(user), "phone")

    with pytest.raises(InvalidStatus) as refused:
        async with connect(address, origin=Origin("https://evil.example")):
            pass
    assert refused.value.response.status_code == 403
    async with connect(address, origin=Origin(local_stack.http_url)) as ws:
        await ws.send('{"action": "ping"}')
        assert json.loads(await ws.recv()) == {"type": "pong"}

    evil = urllib.request.Request(
        f"{local_stack.http_url}/dev/token?userId={user}", headers={"Origin": "https://evil.example"}
    )
    with pytest.raises(urllib.error.HTTPError) as forbidden:
        await asyncio.to_thread(urllib.request.urlopen, evil, timeout=10)
    assert forbidden.value.code == 403
