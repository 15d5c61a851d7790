"""What a member removed from a group (or who left) still learns about it: the group as of its leaving,
never anything that happened since (sync, history, message info)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chat.store import conversations
from local.dynamodb_quirks import Quirks
from local.streams import StreamReader
from tests.integration.support import FakePoster, invoke


def ack(dev: Any, kind: str, conversation_id: str, seq: int) -> None:
    assert dev.do({"action": kind, "conversationId": conversation_id, "seq": seq}) is None


def settle(receipts_stream: StreamReader) -> None:
    """Runs receipt_push until the log is quiet (a "*" move is itself a logged receipt)."""
    while records := receipts_stream.records():
        assert invoke("receipt_push", {"Records": records}) == {"batchItemFailures": []}


def summary_of(dev: Any, poster: FakePoster, conversation_id: str) -> dict[str, Any]:
    poster.frames[dev.connection_id].clear()
    reply = dev.do({"action": "sync", "cursors": {}})
    assert reply is not None and reply["type"] == "synced", reply
    [summary] = [c for c in reply["conversations"] if c["conversationId"] == conversation_id]
    return summary  # type: ignore[no-any-return]


def watermarks(summary: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(r["userId"], r["kind"]): r["seq"] for r in summary["receipts"]}


@pytest.fixture
def moved_on(device: Any, receipts_stream: StreamReader) -> Any:
    """cat was removed from ann's group at seq 2, with "*" at delivered 1 / read 1 and her own at 2 / 2;
    since then dan joined, seq 3 and 4 were sent, everyone read 4 ("*" 4) and ben became admin too."""
    ann, ben, cat, dan = device("ann"), device("ben"), device("cat"), device("dan")
    group = ann.do({"action": "createGroup", "name": "team", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    ann.send("1", conversationId=group)
    ack(ben, "read", group, 1)
    ann.send("2", conversationId=group)
    ack(cat, "read", group, 2)
    settle(receipts_stream)
    assert conversations.get_conversation(group).all_read == 1  # type: ignore[union-attr]

    removed = ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    assert removed is not None and removed["members"] == ["ann", "ben"]
    settle(receipts_stream)
    time.sleep(0.01)  # what follows happens strictly after cat's leaving, to the millisecond
    ann.do({"action": "addMembers", "conversationId": group, "userIds": ["dan"]})
    ann.send("3", conversationId=group)
    ann.send("4", conversationId=group)
    for member in (ben, dan):
        ack(member, "read", group, 4)
    settle(receipts_stream)
    assert conversations.get_conversation(group).all_read == 4  # type: ignore[union-attr]
    return ann, ben, cat, dan, group


def test_a_former_members_sync_shows_the_group_as_of_its_leaving(
    moved_on: Any, device: Any, poster: FakePoster
) -> None:
    _ann, ben, cat, _dan, group = moved_on

    summary = summary_of(cat, poster, group)

    # Who is in the group now is left out (not null), lastSeq stops at its leaving...
    assert "members" not in summary and "admins" not in summary
    assert (summary["kind"], summary["name"], summary["lastSeq"]) == ("group", "team", 2)
    # ... and so do the watermarks: "*" as it was when she left, her own frozen since.
    assert watermarks(summary) == {
        ("*", "delivered"): 1,
        ("*", "read"): 1,
        ("cat", "delivered"): 2,
        ("cat", "read"): 2,
    }
    assert [m["seq"] for m in poster.of_type(cat.connection_id, "message")] == [1, 2]

    # A new device of hers is told the same; a member is told the group as it is.
    assert summary_of(device("cat", "tablet"), poster, group) == {**summary, "firstSeqSent": 1}
    current = summary_of(ben, poster, group)
    assert (current["members"], current["admins"], current["lastSeq"]) == (["ann", "ben", "dan"], ["ann"], 4)
    assert watermarks(current)[("*", "read")] == 4


def test_a_former_member_that_rejoins_sees_the_group_as_a_member_again(moved_on: Any, poster: FakePoster) -> None:
    ann, _ben, cat, _dan, group = moved_on
    ann.do({"action": "addMembers", "conversationId": group, "userIds": ["cat"]})

    summary = summary_of(cat, poster, group)

    assert (summary["members"], summary["lastSeq"]) == (["ann", "ben", "cat", "dan"], 4)
    assert watermarks(summary)[("*", "read")] == 4


def test_a_former_members_sync_ranks_the_group_by_its_leaving_not_by_later_messages(
    device: Any, poster: FakePoster
) -> None:
    # cat left the group at seq 1; then a direct chat got 2 messages and the group 3 more
    ann, cat = device("ann"), device("cat")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["cat"]})["conversationId"]  # type: ignore[index]
    ann.send("g1", conversationId=group)
    cat.do({"action": "leaveGroup", "conversationId": group})
    direct = ann.send("d1", to="cat")["conversationId"]
    ann.send("d2", conversationId=direct)
    for n in range(3):
        ann.send(f"later {n}", conversationId=group)

    reply = cat.do({"action": "sync", "cursors": {}})

    assert reply is not None
    assert [c["conversationId"] for c in reply["conversations"]] == [direct, group]
    assert ann.do({"action": "sync", "cursors": {}})["conversations"][0]["conversationId"] == group  # type: ignore[index]


def test_a_former_members_history_stops_at_its_leaving(moved_on: Any) -> None:
    _ann, _ben, cat, _dan, group = moved_on

    newest = cat.do({"action": "history", "conversationId": group})
    assert newest is not None and ([m["seq"] for m in newest["messages"]], newest["hasMore"]) == ([1, 2], False)
    # Asking from beyond its leaving changes nothing.
    later = cat.do({"action": "history", "conversationId": group, "beforeSeq": 5, "limit": 100})
    assert later is not None and [m["seq"] for m in later["messages"]] == [1, 2]


def test_a_former_members_message_info_tells_nothing_that_happened_after_its_leaving(
    moved_on: Any, device: Any
) -> None:
    ann, ben, cat, _dan, group = moved_on

    # seq 2: ben read it only after cat was removed
    info = cat.do({"action": "receipts", "conversationId": group, "seq": 2, "requestId": "i"})
    assert info is not None and info["type"] == "receipts", info
    assert info["members"] == [
        {"userId": "ben", "deliveredAt": None, "readAt": None},
        {"userId": "cat", "deliveredAt": info["members"][1]["readAt"], "readAt": info["members"][1]["readAt"]},
    ]
    assert info["members"][1]["readAt"] is not None  # her own read, before she left
    # seq 1: ben read it before she left; that is still hers to see
    first = cat.do({"action": "receipts", "conversationId": group, "seq": 1})
    assert first is not None and first["members"][0]["userId"] == "ben"
    assert first["members"][0]["readAt"] is not None
    # A member asking the same is told ben's read of seq 2
    current = ann.do({"action": "receipts", "conversationId": group, "seq": 2})
    assert current is not None and current["members"][0]["userId"] == "ben"
    assert current["members"][0]["readAt"] is not None
    # and nothing after her leaving can even be asked for
    error = cat.do({"action": "receipts", "conversationId": group, "seq": 3})
    assert error is not None and error["code"] == "bad_request"
    assert ben is not None


def test_sync_goes_by_a_leaving_the_index_does_not_show_yet(
    device: Any, poster: FakePoster, ddb_quirks: Quirks
) -> None:
    # Given the byUser index shows nothing written in the last minute
    ann, _ben, cat = device("ann"), device("ben"), device("cat")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    ann.send("1", conversationId=group)
    ddb_quirks.set(index_lag_s=60)

    # When cat is removed, then ann writes on, and cat syncs while the index still shows her as a member
    ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    ann.send("2", conversationId=group)
    summary = summary_of(cat, poster, group)

    # Then sync goes by the table: she is told the group as of her leaving
    assert ddb_quirks.index_items_lagging >= 1
    assert "members" not in summary and summary["lastSeq"] == 1
    assert [m["seq"] for m in poster.of_type(cat.connection_id, "message")] == [1]
