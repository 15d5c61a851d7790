"""Groups: admins, the 500 limit, who is told of each change, and what joiners and leavers can see."""

from __future__ import annotations

from typing import Any

import pytest

from chat import protocol_limits
from chat.store import members as member_store
from chat.store import users
from local.streams import StreamReader
from tests.integration.conftest import run_fanout
from tests.integration.support import FakePoster


def create(owner: Any, *members: str, name: str = "team") -> dict[str, Any]:
    reply = owner.do({"action": "createGroup", "name": name, "members": list(members), "requestId": "g1"})
    assert reply is not None and reply["type"] == "group", reply
    return reply


def test_create_group_makes_the_creator_admin_and_tells_every_member(device: Any, poster: FakePoster) -> None:
    ann, ann_laptop, ben, cat = device("ann"), device("ann", "laptop"), device("ben"), device("cat")

    reply = create(ann, "ben", "cat", "ben")  # duplicates collapse

    assert reply == {
        "type": "group",
        "conversationId": reply["conversationId"],
        "name": "team",
        "members": ["ann", "ben", "cat"],
        "admins": ["ann"],
        "change": "created",
        "by": "ann",
        "requestId": "g1",
    }
    pushed = {k: v for k, v in reply.items() if k != "requestId"}
    for other in (ann_laptop, ben, cat):
        assert poster.of_type(other.connection_id, "group") == [pushed]
    assert poster.of_type(ann.connection_id, "group") == []  # the creating device got the reply


def test_group_size_is_checked_before_anything_is_stored(device: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(protocol_limits, "MAX_GROUP_MEMBERS", 3)
    from chat import groups

    monkeypatch.setattr(groups, "MAX_GROUP_MEMBERS", 3)
    ann = device("ann")
    for name in ("ben", "cat", "dan"):
        users.ensure_user(name, "2026-01-01T00:00:00.000Z")

    reply = ann.do({"action": "createGroup", "name": "big", "members": ["ben", "cat", "dan"]})

    assert reply is not None and reply["code"] == "limit_exceeded"
    assert member_store.memberships_of("ann") == []
    group = create(ann, "ben", "cat")
    reply = ann.do({"action": "addMembers", "conversationId": group["conversationId"], "userIds": ["dan"]})
    assert reply is not None and reply["code"] == "limit_exceeded"
    assert [m.user_id for m in member_store.list_members(group["conversationId"])] == ["ann", "ben", "cat"]


def test_group_of_exactly_500_is_allowed_and_501_is_not(device: Any) -> None:
    ann = device("ann")
    others = [f"user{i:03d}" for i in range(500)]
    for name in others:
        users.ensure_user(name, "2026-01-01T00:00:00.000Z")
    reply = ann.do({"action": "createGroup", "name": "too big", "members": others})
    assert reply is not None and reply["code"] == "limit_exceeded"
    assert len(create(ann, *others[:499])["members"]) == 500


def test_unknown_members_are_not_found_and_nothing_is_stored(device: Any) -> None:
    ann, _ben = device("ann"), device("ben")
    reply = ann.do({"action": "createGroup", "name": "x", "members": ["ben", "ghost"]})
    assert reply is not None and reply["code"] == "not_found" and "ghost" in reply["message"]
    assert member_store.memberships_of("ann") == [] and member_store.memberships_of("ben") == []


@pytest.mark.parametrize(
    "frame",
    [
        {"name": "", "members": []},
        {"name": "x" * 101, "members": []},
        {"name": "ok", "members": "ben"},
        {"name": "ok", "members": [1]},
        {"name": "ok"},
    ],
)
def test_bad_create_frames_are_bad_request(device: Any, frame: dict[str, Any]) -> None:
    reply = device("ann").do({"action": "createGroup", **frame})
    assert reply is not None and reply["code"] == "bad_request"


def test_only_admins_add_and_remove(device: Any) -> None:
    ann, ben, _cat, _dan = device("ann"), device("ben"), device("cat"), device("dan")
    group = create(ann, "ben", "cat")["conversationId"]

    for action in ("addMembers", "removeMembers"):
        reply = ben.do(
            {"action": action, "conversationId": group, "userIds": ["dan" if action == "addMembers" else "cat"]}
        )
        assert reply is not None and reply["code"] == "forbidden"
    assert [m.user_id for m in member_store.list_members(group) if m.active] == ["ann", "ben", "cat"]


def test_a_member_added_later_sees_only_messages_after_joining(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, _ben, dan = device("ann"), device("ben"), device("dan")
    group = create(ann, "ben")["conversationId"]
    ann.send("before dan", conversationId=group)
    run_fanout(messages_stream)

    added = ann.do({"action": "addMembers", "conversationId": group, "userIds": ["dan"]})
    assert added is not None and added["change"] == "membersAdded" and "dan" in added["members"]
    assert poster.of_type(dan.connection_id, "group")[-1]["change"] == "membersAdded"
    ann.send("after dan", conversationId=group)
    run_fanout(messages_stream)

    assert [f["seq"] for f in poster.of_type(dan.connection_id, "message")] == [2]
    history = dan.do({"action": "history", "conversationId": group})
    assert history is not None and [m["seq"] for m in history["messages"]] == [2] and history["hasMore"] is False
    synced_seqs = [c["firstSeqSent"] for c in dan.do({"action": "sync", "cursors": {}})["conversations"]]  # type: ignore[index]
    assert synced_seqs == [2]


def test_a_removed_member_is_told_receives_nothing_newer_and_cannot_read_or_send_it(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, ben, cat = device("ann"), device("ben"), device("cat")
    group = create(ann, "ben", "cat")["conversationId"]
    ann.send("1", conversationId=group)

    reply = ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})

    assert reply is not None and reply["members"] == ["ann", "ben"] and reply["change"] == "membersRemoved"
    assert poster.of_type(cat.connection_id, "group")[-1]["change"] == "membersRemoved"
    assert poster.of_type(ben.connection_id, "group")[-1]["change"] == "membersRemoved"
    ann.send("2", conversationId=group)
    run_fanout(messages_stream)
    assert [f["seq"] for f in poster.of_type(cat.connection_id, "message")] == [1]
    history = cat.do({"action": "history", "conversationId": group})
    assert history is not None and [m["seq"] for m in history["messages"]] == [1]
    assert cat.send("still here?", conversationId=group)["code"] == "forbidden"
    assert cat.do({"action": "read", "conversationId": group, "seq": 1})["code"] == "forbidden"  # type: ignore[index]


def test_any_member_may_leave_and_a_group_keeps_an_admin(device: Any, poster: FakePoster) -> None:
    ann, ben, cat = device("ann"), device("ben"), device("cat")
    group = create(ann, "ben", "cat")["conversationId"]

    left = ann.do({"action": "leaveGroup", "conversationId": group})

    assert left is not None and left["change"] == "left" and left["by"] == "ann"
    assert left["members"] == ["ben", "cat"] and left["admins"] == ["ben"]
    assert poster.of_type(ben.connection_id, "group")[-1]["admins"] == ["ben"]
    reply = ben.do({"action": "addMembers", "conversationId": group, "userIds": ["ann"]})
    assert reply is not None and "ann" in reply["members"]  # the new admin can re-add her
    assert cat.do({"action": "leaveGroup", "conversationId": group})["members"] == ["ann", "ben"]  # type: ignore[index]


def test_leaving_a_direct_chat_is_bad_request(device: Any) -> None:
    ann, _ben = device("ann"), device("ben")
    conversation_id = ann.send(to="ben")["conversationId"]
    reply = ann.do({"action": "leaveGroup", "conversationId": conversation_id})
    assert reply is not None and reply["code"] == "bad_request"
