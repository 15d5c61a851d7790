"""The lease rules (chat/liveness.py): when a ping writes, and how far."""

from __future__ import annotations

from chat.liveness import lease_end, renewal

LEASE = 720  # 12 minutes
NOW = 1_000_000


def test_a_lease_runs_one_lease_from_now_but_never_past_the_token() -> None:
    assert lease_end(NOW, LEASE, None) == NOW + LEASE
    assert lease_end(NOW, LEASE, NOW + 100) == NOW + 100
    assert lease_end(NOW, LEASE, NOW + 10_000) == NOW + LEASE


def test_a_ping_renews_only_once_less_than_7_minutes_are_left() -> None:
    assert renewal(NOW, NOW + 7 * 60, None, LEASE) is None  # 7 minutes left: nothing to write
    assert renewal(NOW, NOW + 7 * 60 - 1, None, LEASE) == NOW + LEASE
    assert renewal(NOW, NOW - 5, None, LEASE) == NOW + LEASE  # late, but the record still exists
    assert renewal(NOW, None, None, LEASE) == NOW + LEASE  # a record from before leases


def test_pings_every_5_minutes_write_every_other_time_and_never_let_the_lease_lapse() -> None:
    live_until, writes = NOW + LEASE, 0
    for ping in range(1, 13):
        now = NOW + ping * 300
        assert live_until > now
        renewed = renewal(now, live_until, None, LEASE)
        if renewed is not None:
            live_until, writes = renewed, writes + 1
    assert writes == 6


def test_a_ping_never_renews_past_the_token_nor_once_it_expired() -> None:
    assert renewal(NOW, NOW + 60, NOW + 200, LEASE) == NOW + 200
    assert renewal(NOW, NOW + 200, NOW + 200, LEASE) is None  # at the token's expiry already
    assert renewal(NOW, NOW - 100, NOW - 50, LEASE) is None  # expired: the sweep closes it
    assert renewal(NOW, NOW - 100, NOW, LEASE) is None
