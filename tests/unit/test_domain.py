"""Pure rules: who sees which seq, timestamps, the topology agreeing with the data-access models."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from chat.clock import iso
from chat.domain import Member, Message, PriorText, Reaction
from chat.store.models import ALL_MODELS
from chat.topology import AUTHORIZER, FUNCTIONS, QUEUES, ROUTES, SCHEDULES, SIGNUP, STREAMS, TABLES, route_for


def member(joined: int, left: int | None) -> Member:
    return Member("c", "u", joined, left, 0, 0, None, None)


@pytest.mark.parametrize(
    "joined, left, visible",
    [(0, None, range(1, 100)), (5, None, range(6, 100)), (5, 8, range(6, 9)), (0, 0, range(0))],
)
def test_members_see_what_came_after_joining_and_before_leaving(joined: int, left: int | None, visible: range) -> None:
    assert [seq for seq in range(1, 100) if member(joined, left).can_see(seq)] == list(visible)


@pytest.mark.parametrize("left, top", [(None, 9), (4, 4), (12, 9)])
def test_a_member_sees_up_to_the_last_seq_or_its_leaving(left: int | None, top: int) -> None:
    assert member(0, left).visible_top(9) == top
    assert member(0, left).can_see(top)


def test_timestamps_are_iso_utc_with_milliseconds() -> None:
    assert iso(1795807900.123456) == "2026-11-27T19:31:40.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso(0))


def test_route_selection_falls_back_to_default() -> None:
    assert route_for("send").function == "send"
    assert route_for("$connect").key == "$default"  # a frame cannot pick a lifecycle route
    assert route_for("nope").key == "$default"


def test_topology_is_consistent() -> None:
    assert {r.function for r in ROUTES} <= set(FUNCTIONS)
    for stream in STREAMS:
        assert TABLES[stream.table].stream is not None, stream
        assert stream.function in FUNCTIONS
    for function in FUNCTIONS.values():
        for table, index in function.grants:
            assert table in TABLES, function.name
            assert index is None or index in {i.name for i in TABLES[table].indexes}, function.name


def test_dynamodb_grants_name_real_api_actions() -> None:
    """A typo in an action name would grant nothing and fail only once deployed."""
    import botocore.session

    operations = set(botocore.session.get_session().get_service_model("dynamodb").operation_names)
    # IAM actions with no API operation of their own: a transaction's ConditionCheck is authorized by it.
    operations |= {"ConditionCheckItem"}
    for function in FUNCTIONS.values():
        for (table, index), actions in function.grants.items():
            assert set(actions) <= operations, (function.name, table, actions)
            assert index is None or set(actions) == {"Query"}, (function.name, "an index is only queried")


def test_every_function_has_exactly_the_ways_in_the_topology_gives_it() -> None:
    """A route, a stream, a queue, a schedule, the $connect authorizer or Cognito's sign-up trigger: none is
    unreachable."""
    scheduled = {s.function for s in SCHEDULES}
    queued = {q.function for q in QUEUES}
    ways_in = {r.function for r in ROUTES} | {s.function for s in STREAMS} | scheduled | queued | {AUTHORIZER, SIGNUP}
    assert ways_in == set(FUNCTIONS)
    assert not queued & ({r.function for r in ROUTES} | {s.function for s in STREAMS} | scheduled)
    senders = {f.name for f in FUNCTIONS.values() if f.enqueues}
    assert all(set(f.enqueues) <= {q.logical_name for q in QUEUES} for f in FUNCTIONS.values())
    assert senders == {"send"}
    assert SIGNUP not in {r.function for r in ROUTES} | {s.function for s in STREAMS} | scheduled
    assert not scheduled & ({r.function for r in ROUTES} | {s.function for s in STREAMS})
    assert all(s.every_s % 60 == 0 for s in SCHEDULES), "EventBridge rates are whole minutes"


def test_data_access_models_match_the_topology_keys_and_indexes() -> None:
    by_table = {model.Meta.table_name: model for model in ALL_MODELS}
    from chat.config import table_name

    for table in TABLES.values():
        model = by_table[table_name(table)]
        attributes = model.get_attributes()
        hash_key = next(a for a in attributes.values() if a.is_hash_key)
        assert hash_key.attr_name == table.partition.name
        range_key = next((a for a in attributes.values() if a.is_range_key), None)
        assert (range_key.attr_name if range_key else None) == (table.sort.name if table.sort else None)
        indexes = {index.Meta.index_name for index in model._indexes.values()}
        assert indexes == {index.name for index in table.indexes}
        if table.ttl_attribute:
            assert table.ttl_attribute in {a.attr_name for a in attributes.values()}


def _message(**changes: object) -> Message:
    base = Message("g1", 1, "ann", "phone", "c1", "m1", "third", "2026-11-30T10:00:00.000Z")
    return replace(base, **changes)  # type: ignore[arg-type]


def _gone(left_at: str) -> Member:
    return Member("g1", "cat", 0, 5, 5, 5, None, None, left_at=left_at)


EDITED = _message(
    edited_at="2026-11-30T10:02:00.000Z",
    prior_texts=(PriorText("first", "2026-11-30T10:01:00.000Z"), PriorText("second", "2026-11-30T10:02:00.000Z")),
    reactions=(
        Reaction("ben", "\U0001f44d", "2026-11-30T10:00:30.000Z"),
        Reaction("dan", "!", "2026-11-30T10:03:00.000Z"),
    ),
)


@pytest.mark.parametrize(
    ("left_at", "text", "edited_at", "reactors"),
    [
        ("2026-11-30T10:00:10.000Z", "first", None, []),
        ("2026-11-30T10:00:30.000Z", "first", None, ["ben"]),
        ("2026-11-30T10:01:30.000Z", "second", "2026-11-30T10:01:00.000Z", ["ben"]),
        ("2026-11-30T10:02:00.000Z", "third", "2026-11-30T10:02:00.000Z", ["ben"]),
        ("2026-11-30T10:05:00.000Z", "third", "2026-11-30T10:02:00.000Z", ["ben", "dan"]),
    ],
)
def test_a_former_member_sees_a_message_as_it_was_when_it_left(
    left_at: str, text: str, edited_at: str | None, reactors: list[str]
) -> None:
    seen = EDITED.as_seen_by(_gone(left_at))
    assert (seen.text, seen.edited_at, [r.user_id for r in seen.reactions]) == (text, edited_at, reactors)


def test_a_member_sees_a_message_as_it_is_and_a_deletion_hides_it_from_everyone() -> None:
    member = Member("g1", "ben", 0, None, 5, 5, None, None)
    assert EDITED.as_seen_by(member) == EDITED
    deleted = _message(text="", deleted_at="2026-11-30T10:04:00.000Z")
    assert deleted.as_seen_by(_gone("2026-11-30T10:03:00.000Z")).text == ""
