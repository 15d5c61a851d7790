"""Small helpers shared by the end-to-end tests of receipts, groups, sync, history, presence and typing.

About "nothing was pushed": the local stack handles the frames of one socket concurrently (as API
Gateway does); `message`, `receipt` and `presence` pushes come from DynamoDB streams it processes in
order, table by table, while `group` and `typing` are pushed by the handler before it returns. So a
test proves a frame never came by first waiting for a later frame that the same ordered path must
deliver after it (a later message, a later receipt, a later presence change), then looking back.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

from tests.conftest import Frame, WsClient

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def is_iso_ms(value: object) -> bool:
    """A timestamp as the protocol writes them: ISO 8601 UTC with milliseconds, e.g. 2026-11-27T19:31:40.123Z."""
    return isinstance(value, str) and ISO_MS.match(value) is not None


def send_to(user_id: str, text: str = "hi", client_msg_id: str | None = None) -> Frame:
    return {"action": "send", "to": user_id, "clientMsgId": client_msg_id or uuid.uuid4().hex, "body": {"text": text}}


def send_in(conversation_id: str, text: str = "hi", client_msg_id: str | None = None) -> Frame:
    return {
        "action": "send",
        "conversationId": conversation_id,
        "clientMsgId": client_msg_id or uuid.uuid4().hex,
        "body": {"text": text},
    }


def ack(kind: str, conversation_id: str, seq: int) -> Frame:
    """A `delivered` or `read` frame."""
    return {"action": kind, "conversationId": conversation_id, "seq": seq}


def of_type(type_: str, **fields: Any) -> Callable[[Frame], bool]:
    """Frames of this type whose listed fields have exactly these values."""

    def match(frame: Frame) -> bool:
        return frame.get("type") == type_ and all(frame.get(k) == v for k, v in fields.items())

    return match


def receipt(
    conversation_id: str, user_id: str, kind: str | None = None, seq: int | None = None
) -> Callable[[Frame], bool]:
    fields: dict[str, Any] = {"conversationId": conversation_id, "userId": user_id}
    if kind is not None:
        fields["kind"] = kind
    if seq is not None:
        fields["seq"] = seq
    return of_type("receipt", **fields)


def position(client: WsClient, predicate: Callable[[Frame], bool]) -> int:
    """Index of the first received frame matching `predicate` (the frames a socket got, in order)."""
    for index, frame in enumerate(client.frames):
        if predicate(frame):
            return index
    raise AssertionError(f"{client} never received a matching frame: {client.frames}")


async def send_many(device: WsClient, count: int, to: str | None = None, conversation_id: str | None = None) -> str:
    """Sends `count` messages one after the other ("m1", "m2", ...); returns the conversation id."""
    for n in range(1, count + 1):
        target = {"conversationId": conversation_id} if conversation_id else {"to": to}
        sent = await device.request(
            {"action": "send", "clientMsgId": uuid.uuid4().hex, "body": {"text": f"m{n}"}, **target}
        )
        assert sent["type"] == "sent", sent
        conversation_id = sent["conversationId"]
    assert conversation_id is not None
    return conversation_id


async def create_group(creator: WsClient, name: str, members: list[str], *others: WsClient) -> Frame:
    """createGroup, then waits until each of `others` (member devices) got its `created` frame."""
    reply = await creator.request({"action": "createGroup", "name": name, "members": members})
    assert reply["type"] == "group" and reply["change"] == "created", reply
    for device in others:
        await device.wait_for(of_type("group", conversationId=reply["conversationId"], change="created"))
    return reply


async def until(condition: Callable[[], bool], timeout: float = 15, what: str = "condition") -> None:
    """Polls a condition on frames already received (a wait, never an assertion by itself)."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def refusal(reply: Frame) -> tuple[object, object, object]:
    """(type, code, action) of a reply: ("error", "forbidden", "send") for a refused send."""
    return reply.get("type"), reply.get("code"), reply.get("action")
