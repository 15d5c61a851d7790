"""The pure rules of presence and typing: when a change is pushed, what lastSeen is, list limits."""

from __future__ import annotations

import pytest

from chat.clock import iso
from chat.domain import Connection
from chat.errors import LimitExceeded
from chat.presence import presence_change, removal_time, watch_list
from chat.protocol import PresenceOut
from chat.protocol_limits import MAX_PRESENCE_USERS
from chat.typing_indicators import TYPING_WINDOW_S, limit_key, window_of

EARLIER = "2026-11-27T19:00:00.000Z"
LATER = "2026-11-27T19:31:40.123Z"


def test_coming_online_is_pushed_once() -> None:
    # told offline -> online
    assert presence_change("bob", True, EARLIER, None) == PresenceOut(userId="bob", online=True, lastSeen=None)
    # told online already (another device, a reconnect): nothing
    assert presence_change("bob", True, None, None) is None
    # a REMOVE while another device is still live: nothing
    assert presence_change("bob", True, None, LATER) is None


def test_going_offline_needs_a_removal_and_moves_last_seen_forward() -> None:
    # the last device left
    assert presence_change("bob", False, None, LATER) == PresenceOut(userId="bob", online=False, lastSeen=LATER)
    # a device came and went between two records: lastSeen moves, subscribers are told
    assert presence_change("bob", False, EARLIER, LATER) == PresenceOut(userId="bob", online=False, lastSeen=LATER)
    # an INSERT of a record that is already dead changes nothing (its REMOVE will)
    assert presence_change("bob", False, None, None) is None
    assert presence_change("bob", False, EARLIER, None) is None
    # a removal older than what was told (a TTL deletion of a long-expired record) changes nothing
    assert presence_change("bob", False, LATER, EARLIER) is None
    assert presence_change("bob", False, LATER, LATER) is None


def connection(expires_at: int, live_until: int | None = None) -> Connection:
    return Connection("bob", "c1", "phone", iso(0), expires_at=expires_at, live_until=live_until)


def test_removal_time_is_when_the_record_was_removed_unless_it_had_stopped_counting_before() -> None:
    assert removal_time(connection(expires_at=2_000, live_until=1_500), 1_000.5) == iso(1_000.5)
    # the sweep removed it after its lease ended (no ping, or its token expired)
    assert removal_time(connection(expires_at=2_000, live_until=1_500), 1_560.0) == iso(1_500)
    # TTL deleted it after it expired
    assert removal_time(connection(expires_at=2_000, live_until=1_500), 5_000.0) == iso(1_500)
    assert removal_time(connection(expires_at=2_000), 5_000.0) == iso(2_000)  # a record without a lease


def test_watch_list_collapses_duplicates_in_order() -> None:
    assert watch_list(["bob", "carol", "bob"]) == ["bob", "carol"]
    assert watch_list([]) == []


def test_watch_list_limits_the_list_as_sent() -> None:
    assert watch_list(["bob"] * MAX_PRESENCE_USERS) == ["bob"]
    with pytest.raises(LimitExceeded):
        watch_list(["bob"] * (MAX_PRESENCE_USERS + 1))


def test_typing_windows_are_per_user_and_conversation() -> None:
    assert window_of(TYPING_WINDOW_S * 7) == window_of(TYPING_WINDOW_S * 8 - 1) == 7
    assert window_of(TYPING_WINDOW_S * 8) == 8
    keys = {
        limit_key("alice", "c1", 7),
        limit_key("bob", "c1", 7),
        limit_key("alice", "c2", 7),
        limit_key("alice", "c1", 8),
    }
    assert len(keys) == 4
