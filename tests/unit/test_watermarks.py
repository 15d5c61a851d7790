"""The check-mark rules (chat/watermarks.py), without AWS."""

from __future__ import annotations

import dataclasses

import pytest

from chat import watermarks
from chat.domain import (
    ALL_MEMBERS,
    Conversation,
    GroupMinimum,
    Member,
    Message,
    Receipt,
    Watermark,
    WatermarkMove,
)

AT = "2026-11-27T19:31:40.123Z"


def member(user_id: str, delivered: int = 0, read: int = 0, left: int | None = None) -> Member:
    return Member("c", user_id, 0, left, delivered, read, f"d{delivered}", f"r{read}")


def group(last_seq: int = 5, delivered: int = 0, read: int = 0, **holding: frozenset[str]) -> Conversation:
    return Conversation(
        "c",
        "group",
        "g",
        last_seq,
        all_delivered=delivered,
        all_read=read,
        at_min_delivered=holding.get("delivered", frozenset()),
        at_min_read=holding.get("read", frozenset()),
    )


DIRECT = Conversation("c", "direct", None, 5)


# ---- one user's watermarks -----------------------------------------------------------------------------


def test_read_implies_delivered() -> None:
    assert watermarks.implied_kinds("read") == ("delivered", "read")
    assert watermarks.implied_kinds("delivered") == ("delivered",)


@pytest.mark.parametrize(
    "delivered, read, kind, seq, raises",
    [
        (3, 1, "delivered", 3, None),  # at the watermark: nothing moves
        (3, 1, "delivered", 2, None),  # below it: watermarks never move back
        (3, 1, "read", 1, None),
        (3, 1, "delivered", 4, ("delivered",)),  # delivered does not imply read
        (3, 1, "read", 2, ("read",)),  # delivered is already beyond
        (3, 1, "read", 3, ("read",)),
        (3, 1, "read", 5, ("delivered", "read")),  # a read move raises delivered too
    ],
)
def test_an_acknowledgement_moves_only_forward(
    delivered: int, read: int, kind: str, seq: int, raises: tuple[str, ...] | None
) -> None:
    move = watermarks.acknowledgement(member("bob", delivered, read), kind, seq, AT, "conn")  # type: ignore[arg-type]
    if raises is None:
        assert move is None
    else:
        assert move == WatermarkMove(Receipt("c", "bob", kind, seq, AT), raises, "conn")  # type: ignore[arg-type]


def test_sending_is_the_senders_read_of_its_own_message() -> None:
    message = Message("c", 7, "alice", "phone", "conn-a", "m1", "hi", AT)
    assert watermarks.sending(message) == WatermarkMove(
        Receipt("c", "alice", "read", 7, AT), ("delivered", "read"), "conn-a"
    )


@pytest.mark.parametrize(
    "first_delivered, first_read, expected",
    [("t2", "t3", "t2"), ("t3", "t1", "t1"), (None, "t1", "t1"), ("t2", None, "t2"), (None, None, None)],
)
def test_a_message_counts_as_delivered_when_first_delivered_or_read(
    first_delivered: str | None, first_read: str | None, expected: str | None
) -> None:
    assert watermarks.delivered_at(first_delivered, first_read) == expected


# ---- a group's all-members watermark -----------------------------------------------------------------


def test_the_group_minimum_is_over_active_members_with_who_sits_at_it() -> None:
    members = [member("ann", 4, 2), member("ben", 2, 2), member("cat", 2, 1), member("dan", 0, 0, left=3)]
    assert watermarks.group_minimum(members, "delivered") == GroupMinimum(2, frozenset({"ben", "cat"}))
    assert watermarks.group_minimum(members, "read") == GroupMinimum(1, frozenset({"cat"}))
    assert watermarks.group_minimum([member("dan", left=3)], "read") is None


def test_a_star_receipt_is_due_only_when_the_minimum_moved_up() -> None:
    before = GroupMinimum(2, frozenset())
    up = GroupMinimum(3, frozenset({"ann"}))
    assert watermarks.all_members_move("c", "read", before, up, AT) == WatermarkMove(
        Receipt("c", ALL_MEMBERS, "read", 3, AT)
    )
    assert watermarks.all_members_move("c", "read", before, GroupMinimum(2, frozenset({"ben"})), AT) is None


def test_newcomers_hold_back_only_the_minimums_at_the_last_seq() -> None:
    assert watermarks.minimums_at_last_seq(group(last_seq=5, delivered=5, read=3)) == ("delivered",)
    assert watermarks.minimums_at_last_seq(group(last_seq=5, delivered=5, read=5)) == ("delivered", "read")
    assert watermarks.minimums_at_last_seq(group(last_seq=5, delivered=4, read=3)) == ()


# ---- who hears of a move -------------------------------------------------------------------------------


def test_a_direct_move_is_heard_by_both_members() -> None:
    assert watermarks.receipt_audience("direct", "bob", lambda: ["alice", "bob"]) == ["alice", "bob"]
    assert watermarks.hears("direct", "bob", "alice") and watermarks.hears("direct", "bob", "bob")


def test_a_group_members_own_move_is_heard_by_that_member_only_without_reading_the_members() -> None:
    def no_member_rows() -> list[str]:
        raise AssertionError("the member rows were read")

    assert watermarks.is_group_members_own_move("group", "ben")
    assert watermarks.receipt_audience("group", "ben", no_member_rows) == ["ben"]
    assert not watermarks.hears("group", "ben", "ann") and watermarks.hears("group", "ben", "ben")


def test_a_star_move_is_heard_by_every_active_member() -> None:
    assert not watermarks.is_group_members_own_move("group", ALL_MEMBERS)
    assert watermarks.receipt_audience("group", ALL_MEMBERS, lambda: ["ann", "ben"]) == ["ann", "ben"]


def test_synced_tells_a_direct_chat_both_users_watermarks() -> None:
    bob = member("bob", 5, 3)
    told = watermarks.watermarks_told(DIRECT, [member("alice", 4, 4), bob], bob)
    assert told == [
        Watermark("alice", "delivered", 4, "d4"),
        Watermark("alice", "read", 4, "r4"),
        Watermark("bob", "delivered", 5, "d5"),
        Watermark("bob", "read", 3, "r3"),
    ]


def test_synced_tells_a_group_member_the_star_watermarks_and_its_own() -> None:
    ben = member("ben", 3, 2)
    members = [member("ann", 4, 4), ben]
    conversation = group(delivered=3, read=2)
    assert watermarks.watermarks_told(conversation, members, ben) == [
        Watermark(ALL_MEMBERS, "delivered", 3, None),
        Watermark(ALL_MEMBERS, "read", 2, None),
        Watermark("ben", "delivered", 3, "d3"),
        Watermark("ben", "read", 2, "r2"),
    ]


def test_synced_tells_a_former_member_the_star_watermarks_as_they_were_when_it_left_and_its_own() -> None:
    cat = dataclasses.replace(member("cat", 2, 2, left=3), left_at=AT, all_delivered_at_leave=2, all_read_at_leave=1)
    # the group moved on since: "*" is at 5 now
    conversation = group(delivered=5, read=5)
    assert watermarks.watermarks_told(conversation, [member("ann", 5, 5), cat], cat) == [
        Watermark(ALL_MEMBERS, "delivered", 2, None),
        Watermark(ALL_MEMBERS, "read", 1, None),
        Watermark("cat", "delivered", 2, "d2"),
        Watermark("cat", "read", 2, "r2"),
    ]
    # a membership that ended before "*" was recorded at leaving is told no "*" at all
    old = member("cat", 2, 2, left=3)
    assert watermarks.watermarks_told(conversation, [old], old) == [
        Watermark("cat", "delivered", 2, "d2"),
        Watermark("cat", "read", 2, "r2"),
    ]


def test_a_former_member_is_told_times_only_up_to_its_leaving() -> None:
    cat = dataclasses.replace(member("cat", left=3), left_at="2026-11-27T19:00:00.000Z")
    assert cat.saw_by_then("2026-11-27T18:59:59.999Z") == "2026-11-27T18:59:59.999Z"
    assert cat.saw_by_then("2026-11-27T19:00:00.000Z") == "2026-11-27T19:00:00.000Z"
    assert cat.saw_by_then("2026-11-27T19:00:00.001Z") is None
    assert cat.saw_by_then(None) is None
    assert member("cat", left=3).saw_by_then(AT) is None  # left before leaving times were recorded
    assert member("ann").saw_by_then(AT) == AT  # a member: any time
