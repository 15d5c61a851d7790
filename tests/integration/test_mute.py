"""Mute: the user's own setting for a conversation, on every device of the user and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest

from chat import clock
from chat.store.models import MemberModel
from tests.integration.support import FakePoster, connection_record


def summary(dev: Any, conversation_id: str) -> dict[str, Any]:
    reply = dev.do({"action": "sync", "cursors": {}})
    assert reply is not None and reply["type"] == "synced", reply
    return next(c for c in reply["conversations"] if c["conversationId"] == conversation_id)


def stored_until(conversation_id: str, user_id: str) -> str | None:
    return MemberModel.get(conversation_id, user_id, consistent_read=True).muted_until


@pytest.fixture
def chat(device: Any) -> Any:
    phone, laptop, bob = device("alice", "phone"), device("alice", "laptop"), device("bob")
    conversation_id = bob.send("hi", to="alice")["conversationId"]
    return phone, laptop, bob, conversation_id


def test_muting_until_unmuted_reaches_the_users_other_devices_and_no_one_else(chat: Any, poster: FakePoster) -> None:
    phone, laptop, bob, conversation_id = chat

    reply = phone.do({"action": "mute", "conversationId": conversation_id, "requestId": "m"})

    expected = {"type": "muted", "conversationId": conversation_id, "muted": True, "until": None}
    assert reply == {**expected, "requestId": "m"}
    assert poster.of_type(laptop.connection_id, "muted") == [expected]
    assert poster.of_type(phone.connection_id, "muted") == []  # it has its reply
    assert poster.of_type(bob.connection_id, "muted") == []
    for device in (laptop, phone):
        assert (summary(device, conversation_id)["muted"], summary(device, conversation_id)["mutedUntil"]) == (
            True,
            None,
        )
    assert summary(bob, conversation_id)["muted"] is False


def test_a_mute_until_a_time_is_stored_in_utc_and_ends_by_itself(chat: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    phone, _laptop, _bob, conversation_id = chat

    reply = phone.do({"action": "mute", "conversationId": conversation_id, "until": "2099-01-01T09:30:00+01:00"})

    assert reply is not None and (reply["muted"], reply["until"]) == (True, "2099-01-01T08:30:00.000Z")
    assert summary(phone, conversation_id)["mutedUntil"] == "2099-01-01T08:30:00.000Z"
    # Once that time has passed, sync says it is not muted any more
    monkeypatch.setattr(clock, "now_iso", lambda: "2099-01-01T08:30:00.001Z")
    assert (summary(phone, conversation_id)["muted"], summary(phone, conversation_id)["mutedUntil"]) == (False, None)


def test_unmute_and_a_mute_until_a_past_time_leave_nothing_stored(chat: Any) -> None:
    phone, laptop, _bob, conversation_id = chat
    assert phone.do({"action": "mute", "conversationId": conversation_id}) is not None
    assert stored_until(conversation_id, "alice") is not None

    unmuted = laptop.do({"action": "unmute", "conversationId": conversation_id})
    assert unmuted is not None and (unmuted["muted"], unmuted["until"]) == (False, None)
    assert stored_until(conversation_id, "alice") is None

    past = phone.do({"action": "mute", "conversationId": conversation_id, "until": "2001-01-01T00:00:00Z"})
    assert past is not None and past["muted"] is False
    assert stored_until(conversation_id, "alice") is None


@pytest.mark.parametrize("until", ["tomorrow", "2099-01-01T00:00:00", "", 1, "2099-13-01T00:00:00Z"])
def test_a_mute_with_an_unreadable_time_is_bad_request_and_stores_nothing(chat: Any, until: Any) -> None:
    phone, _laptop, _bob, conversation_id = chat

    reply = phone.do({"action": "mute", "conversationId": conversation_id, "until": until})

    assert reply is not None and (reply["type"], reply["code"], reply["action"]) == ("error", "bad_request", "mute")
    assert stored_until(conversation_id, "alice") is None


def test_a_former_member_cannot_mute_and_sees_no_mute(device: Any) -> None:
    owner, leaver = device("owner"), device("leaver")
    group = owner.do({"action": "createGroup", "name": "g", "members": ["leaver"]})
    assert group is not None
    conversation_id = group["conversationId"]
    assert leaver.do({"action": "mute", "conversationId": conversation_id}) is not None
    assert leaver.do({"action": "leaveGroup", "conversationId": conversation_id}) is not None

    again = leaver.do({"action": "mute", "conversationId": conversation_id})

    assert again is not None and (again["type"], again["code"]) == ("error", "forbidden")
    assert summary(leaver, conversation_id)["muted"] is False


def test_a_mute_pushed_to_a_device_whose_socket_is_gone_forgets_that_socket(chat: Any, poster: FakePoster) -> None:
    phone, laptop, _bob, conversation_id = chat
    # Given the laptop's socket vanished without $disconnect (posts to it answer 410)
    laptop.vanish(poster)

    reply = phone.do({"action": "mute", "conversationId": conversation_id})

    # Then the mute is stored and answered, and the dead socket's record is removed as any push removes it
    assert reply is not None and reply["muted"] is True
    assert connection_record("alice", laptop.connection_id) is None
    assert connection_record("alice", phone.connection_id) is not None
