"""Unread counts in `synced`: messages after the user's own read watermark, which are never its own,
counted from its joining and up to its leaving; the same on every device of the user."""

from __future__ import annotations

from typing import Any

from tests.integration.support import FakePoster


def unread_by_conversation(dev: Any, poster: FakePoster) -> dict[str, int]:
    poster.frames[dev.connection_id].clear()
    reply = dev.do({"action": "sync", "cursors": {}})
    assert reply is not None and reply["type"] == "synced", reply
    return {c["conversationId"]: c["unread"] for c in reply["conversations"]}


def test_unread_counts_what_others_sent_after_the_read_watermark_on_every_device(
    device: Any, poster: FakePoster
) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("1", to="bob")["conversationId"]
    alice.send("2", conversationId=conversation_id)
    alice.send("3", conversationId=conversation_id)

    # Given bob has read nothing: all 3 are unread for him (on a phone that just appeared too); none for alice
    assert unread_by_conversation(bob, poster) == {conversation_id: 3}
    assert unread_by_conversation(device("bob", "new-tablet"), poster) == {conversation_id: 3}
    assert unread_by_conversation(alice, poster) == {conversation_id: 0}

    # When bob reads up to 2 on his phone, his new tablet shows 1
    assert bob.do({"action": "read", "conversationId": conversation_id, "seq": 2}) is None
    assert unread_by_conversation(device("bob", "new-tablet"), poster) == {conversation_id: 1}
    # Only read counts: delivered moves nothing
    assert bob.do({"action": "delivered", "conversationId": conversation_id, "seq": 3}) is None
    assert unread_by_conversation(bob, poster) == {conversation_id: 1}

    # When bob answers, what he answered after is read (sending is reading): 0; alice now has 1
    bob.send("4", conversationId=conversation_id)
    assert unread_by_conversation(bob, poster) == {conversation_id: 0}
    assert unread_by_conversation(alice, poster) == {conversation_id: 1}


def test_unread_starts_at_the_joining_and_stops_at_the_leaving(device: Any, poster: FakePoster) -> None:
    owner, early, late = device("owner"), device("early"), device("late")
    group = owner.do({"action": "createGroup", "name": "g", "members": ["early"]})
    assert group is not None
    conversation_id = group["conversationId"]
    for n in range(4):
        owner.send(f"before {n}", conversationId=conversation_id)

    # A member added now does not count the 4 messages it cannot see
    added = owner.do({"action": "addMembers", "conversationId": conversation_id, "userIds": ["late"]})
    assert added is not None and added["type"] == "group"
    owner.send("after", conversationId=conversation_id)
    assert unread_by_conversation(late, poster) == {conversation_id: 1}
    assert unread_by_conversation(early, poster) == {conversation_id: 5}

    # A member who left counts nothing sent after its leaving
    left = early.do({"action": "leaveGroup", "conversationId": conversation_id})
    assert left is not None and left["type"] == "group"
    owner.send("after early left", conversationId=conversation_id)
    assert unread_by_conversation(early, poster) == {conversation_id: 5}
    assert unread_by_conversation(late, poster) == {conversation_id: 2}
