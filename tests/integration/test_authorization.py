"""Every action, as a member, a non-member and (for admin actions) a non-admin member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chat.actions import BY_NAME
from chat.store.models import MessageChangeModel, MessageModel, PushTokenModel, ReceiptModel, UserModel

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


# The caller's own device's settings: no conversation involved, every role may, and only for its own device.
OWN_DEVICE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("registerPush", {"platform": "fcm", "token": "t"}, "pushRegistered"),
    ("unregisterPush", {}, "pushUnregistered"),
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


# Actions on another user, not on a conversation: anyone may block anyone who exists, except itself.
USER_CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # action, frame (ben is the group's non-admin member), admin, ben himself, outsider
    ("block", {"userId": "ben"}, "blocked", "bad_request", "blocked"),
    ("unblock", {"userId": "ben"}, "blocked", "bad_request", "blocked"),
]


@pytest.mark.parametrize("action, frame, as_admin, as_member, as_outsider", USER_CASES, ids=[c[0] for c in USER_CASES])
@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
def test_each_user_action_answers_by_role(
    world: Any, who: str, action: str, frame: dict[str, Any], as_admin: str, as_member: str, as_outsider: str
) -> None:
    devices, _group = world
    caller = devices[who]

    reply = caller.do({"action": action, **frame})

    expected = {"admin": as_admin, "member": as_member, "outsider": as_outsider}[who]
    assert outcome(reply) == expected, reply
    stored = UserModel.get(caller.user_id, consistent_read=True).blocked or set()
    assert stored == ({"ben"} if expected == "blocked" and action == "block" else set())


@pytest.mark.parametrize("action", [c[0] for c in USER_CASES])
def test_user_actions_on_unknown_users_are_not_found_for_everyone(world: Any, action: str) -> None:
    devices, _group = world
    for caller in devices.values():
        assert outcome(caller.do({"action": action, "userId": "nobody"})) == "not_found"


@pytest.mark.parametrize("action, frame, expected", OWN_DEVICE_CASES, ids=[c[0] for c in OWN_DEVICE_CASES])
@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
def test_each_own_device_action_answers_every_role_and_touches_only_its_device(
    world: Any, who: str, action: str, frame: dict[str, Any], expected: str
) -> None:
    devices, _group = world
    others = {d.user_id: d for d in devices.values() if d is not devices[who]}
    for other in others.values():
        assert outcome(other.do({"action": "registerPush", "platform": "fcm", "token": f"of-{other.user_id}"})) == (
            "pushRegistered"
        )

    assert outcome(devices[who].do({"action": action, **frame})) == expected

    stored = {(row.user_id, row.device_id): row.token for row in PushTokenModel.scan(consistent_read=True)}
    assert {key: token for key, token in stored.items() if key[0] != devices[who].user_id} == {
        (user_id, "phone"): f"of-{user_id}" for user_id in others
    }
    assert set(stored) - {(u, "phone") for u in others} == (
        {(devices[who].user_id, devices[who].device_id)} if action == "registerPush" else set()
    )


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
