"""Every action, as a member, a non-member and (for admin actions) a non-admin member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chat.actions import BY_NAME
from chat.store.models import MessageChangeModel, MessageModel, ReceiptModel

# action -> the frame (with {cid} for the group's id) and what a member, a non-admin member and an
# outsider get: "ok" for a normal answer, otherwise the error code.
CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # action, frame, admin/member, non-admin member, outsider
    ("send", {"clientMsgId": "m", "body": {"text": "x"}}, "sent", "sent", "forbidden"),
    ("delivered", {"seq": 1}, "none", "none", "forbidden"),
    ("read", {"seq": 1}, "none", "none", "forbidden"),
    ("receipts", {"seq": 1}, "receipts", "receipts", "forbidden"),
    ("history", {}, "history", "history", "forbidden"),
    ("typing", {"state": "start"}, "none", "none", "forbidden"),
    ("addMembers", {"userIds": ["dan"]}, "group", "forbidden", "forbidden"),
    ("removeMembers", {"userIds": ["cat"]}, "group", "forbidden", "forbidden"),
    ("leaveGroup", {}, "group", "group", "forbidden"),
    # seq 1 is the admin's message: only its sender may edit or delete it; any member may react.
    ("edit", {"seq": 1, "body": {"text": "fixed"}}, "messageChanged", "forbidden", "forbidden"),
    ("delete", {"seq": 1}, "messageChanged", "forbidden", "forbidden"),
    ("react", {"seq": 1, "emoji": "\U0001f44d"}, "messageChanged", "messageChanged", "forbidden"),
    # Mute is the caller's own setting: any member, for itself.
    ("mute", {"until": "2099-01-01T00:00:00Z"}, "muted", "muted", "forbidden"),
    ("unmute", {}, "muted", "muted", "forbidden"),
    # Any member may upload to the conversation; an outsider gets no presigned POST.
    ("requestUpload", {"contentType": "image/png", "size": 10}, "uploadReady", "uploadReady", "forbidden"),
]


@pytest.fixture
def world(device: Any) -> Any:
    ann, ben, _cat, _dan, eve = device("ann"), device("ben"), device("cat"), device("dan"), device("eve")
    reply = ann.do({"action": "createGroup", "name": "club", "members": ["ben", "cat"]})
    assert reply is not None
    group = reply["conversationId"]
    ann.send("first", conversationId=group)
    return {"admin": ann, "member": ben, "outsider": eve}, group


def outcome(reply: dict[str, Any] | None) -> str:
    if reply is None:
        return "none"
    return str(reply["code"] if reply["type"] == "error" else reply["type"])


@pytest.mark.parametrize("action, frame, as_admin, as_member, as_outsider", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
def test_each_action_answers_by_role(
    world: Any, who: str, action: str, frame: dict[str, Any], as_admin: str, as_member: str, as_outsider: str
) -> None:
    devices, group = world
    stored_before = (MessageModel.count(group), ReceiptModel.count(group), MessageChangeModel.count(group))

    reply = devices[who].do({"action": action, "conversationId": group, **frame})

    expected = {"admin": as_admin, "member": as_member, "outsider": as_outsider}[who]
    assert outcome(reply) == expected, reply
    if expected in ("forbidden", "not_found"):
        assert (MessageModel.count(group), ReceiptModel.count(group), MessageChangeModel.count(group)) == stored_before


@pytest.mark.parametrize("action, frame", [(c[0], c[1]) for c in CASES])
def test_unknown_conversations_are_not_found_for_everyone(world: Any, action: str, frame: dict[str, Any]) -> None:
    devices, _group = world
    reply = devices["admin"].do({"action": action, "conversationId": "g_0000", **frame})
    assert outcome(reply) == "not_found"


def test_sync_never_returns_someone_elses_conversation(world: Any, poster: Any) -> None:
    devices, group = world
    reply = devices["outsider"].do({"action": "sync", "cursors": {group: 0}})
    assert reply is not None and reply["conversations"] == []
    assert poster.of_type(devices["outsider"].connection_id, "message") == []


def test_presence_only_for_users_sharing_a_conversation(world: Any) -> None:
    devices, _group = world
    assert outcome(devices["member"].do({"action": "subscribePresence", "userIds": ["ann"]})) in ("none", "presence")
    assert outcome(devices["outsider"].do({"action": "subscribePresence", "userIds": ["ann"]})) == "forbidden"


LIMITED_CASES = [case for case in CASES if BY_NAME[case[0]].limit is not None]


@pytest.mark.parametrize(
    "action, frame, as_admin, as_member, as_outsider", LIMITED_CASES, ids=[c[0] for c in LIMITED_CASES]
)
@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
def test_an_empty_bucket_refuses_before_the_role_is_asked_and_every_frame_takes_a_token(
    world: Any,
    rate_limits: Callable[[str], None],
    who: str,
    action: str,
    frame: dict[str, Any],
    as_admin: str,
    as_member: str,
    as_outsider: str,
) -> None:
    devices, group = world
    rate_limits(f"{action}=1/min:1")
    expected = {"admin": as_admin, "member": as_member, "outsider": as_outsider}[who]

    assert outcome(devices[who].do({"action": action, "conversationId": group, **frame})) == expected
    stored_before = (MessageModel.count(group), ReceiptModel.count(group), MessageChangeModel.count(group))
    reply = devices[who].do({"action": action, "conversationId": group, **frame})

    # A refused frame took its token too: whoever sends it, the next one is rate_limited and does nothing.
    assert outcome(reply) == "rate_limited"
    assert (MessageModel.count(group), ReceiptModel.count(group), MessageChangeModel.count(group)) == stored_before
