"""Liveness: a connection's lease ($connect), its renewal by ping, token expiry, and the sweep that
closes and removes the connections whose lease ended (chat/liveness.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chat import clock
from chat.store import connections, users
from chat.store.connections import LEASE_SHARDS, lease_shard
from chat.store.models import ConnectionModel
from chat.topology import CONNECTION_LEASE_S
from local import aws_calls
from local.dynamodb_quirks import Quirks
from local.events import LOCAL_API, scheduled_event
from local.iam import acting_as, current_invocation
from local.streams import StreamReader
from tests.integration.conftest import Device
from tests.integration.support import FakePoster, connection_record, invoke

RENEW_BELOW_S = CONNECTION_LEASE_S * 7 / 12  # 7 minutes


def lease_of(dev: Device) -> int:
    return int(connection_record(dev.user_id, dev.connection_id).live_until)


def set_lease(dev: Device, live_until: int) -> None:
    """As if the connection had last renewed its lease long ago (written outside any function)."""
    ConnectionModel(user_id=dev.user_id, connection_id=dev.connection_id).update(
        actions=[ConnectionModel.live_until.set(live_until)]
    )


def ping(dev: Device) -> None:
    assert dev.do({"action": "ping", "requestId": "p"}) == {"type": "pong", "requestId": "p"}


def sweep() -> int:
    """The sweep function, as its EventBridge rule invokes it."""
    result = invoke("sweep", scheduled_event(LOCAL_API, "chat-sweep"))
    return int(result["done"])


@pytest.fixture
def calls() -> Iterator[Counter[str]]:
    """The DynamoDB operations functions make meanwhile, counted."""
    counted: Counter[str] = Counter()

    def count(service: str, operation: str, params: dict[str, Any], call: aws_calls.Call) -> Any:
        if service == "dynamodb" and current_invocation() is not None:
            counted[operation] += 1
        return call(operation, params)

    aws_calls.install("count-calls", count)
    yield counted
    aws_calls.remove("count-calls")


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`clock_at(seconds_ahead)`: the functions' clock (chat.clock) that far ahead of the real one."""

    def move(ahead_s: float) -> None:
        real = time.time
        monkeypatch.setattr(clock, "epoch_s", lambda: int(real() + ahead_s))

    return move


# ---- the lease --------------------------------------------------------------------------------------


def test_connect_gives_a_lease_that_never_outlives_the_token(device: Any, aws: None) -> None:
    before = int(time.time())
    phone = device("alice")
    assert before + CONNECTION_LEASE_S <= lease_of(phone) <= int(time.time()) + CONNECTION_LEASE_S
    row = connection_record("alice", phone.connection_id)
    assert int(row.lease_shard) == lease_shard(phone.connection_id) and 0 <= int(row.lease_shard) < LEASE_SHARDS
    assert row.token_expires_at is None  # this authorizer context carried no expiry

    # A token that expires in 100 s: the lease ends with it, and the expiry is kept
    laptop = Device("alice", "laptop")
    laptop.connection.authorizer["tokenExpiresAt"] = str(before + 100)  # API Gateway may pass a string
    laptop.connect()
    assert lease_of(laptop) == before + 100
    assert int(connection_record("alice", laptop.connection_id).token_expires_at) == before + 100


def test_a_ping_renews_the_lease_only_once_it_nears_its_end(device: Any, calls: Counter[str], clock_at: Any) -> None:
    phone = device("alice")
    first = lease_of(phone)

    # Pings every 5 minutes for an hour: one read each, a renewal every other one
    calls.clear()
    for minute in range(5, 65, 5):
        clock_at(minute * 60)
        ping(phone)
        assert lease_of(phone) - (time.time() + minute * 60) >= RENEW_BELOW_S - 5 * 60  # never near lapsing
    assert calls == Counter({"GetItem": 12, "UpdateItem": 6})
    assert lease_of(phone) > first + 50 * 60


def test_a_ping_never_renews_past_the_token_or_once_it_expired(device: Any, clock_at: Any) -> None:
    phone = Device("alice", "phone").sign_up()
    expires = int(time.time()) + 10 * 60
    phone.connection.authorizer["tokenExpiresAt"] = expires
    phone.connect()
    assert lease_of(phone) == expires

    clock_at(5 * 60)  # 5 minutes left: the renewal stops at the token's expiry (it already does)
    ping(phone)
    assert lease_of(phone) == expires
    clock_at(11 * 60)  # expired: nothing to renew, the sweep closes it
    ping(phone)
    assert lease_of(phone) == expires


def test_a_connection_past_its_lease_no_longer_counts_even_before_the_sweep(device: Any, poster: FakePoster) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    set_lease(bob, int(time.time()) - 1)

    assert connections.live_connections("bob") == [] and not connections.has_live_connection("bob")
    alice.do({"action": "subscribePresence", "userIds": ["bob"]})
    assert poster.of_type(alice.connection_id, "presence") == [
        {"type": "presence", "userId": "bob", "online": False, "lastSeen": None}
    ]


# ---- the sweep --------------------------------------------------------------------------------------


def test_the_sweep_closes_and_removes_the_connections_whose_lease_ended(device: Any, poster: FakePoster) -> None:
    alice, bob_phone, bob_laptop = device("alice"), device("bob", "phone"), device("bob", "laptop")
    alice.send(to="bob")
    ended = int(time.time()) - 30
    set_lease(bob_phone, ended)
    connections_stream = StreamReader.of_table("Connections")
    invoke("presence_push", connections_stream.event())
    alice.do({"action": "subscribePresence", "userIds": ["bob"]})

    # bob's phone stopped pinging: it is closed, its record and its entry on bob go
    assert sweep() == 1
    assert poster.closed == [bob_phone.connection_id]
    assert connection_record("bob", bob_phone.connection_id) is None
    assert [e.connection_id for e in users.endpoints_of(["bob"])] == [bob_laptop.connection_id]
    assert sweep() == 0  # nothing left to do

    # When the laptop's lease ends too, bob goes offline, last seen when that lease ended
    laptop_ended = int(time.time()) - 10
    set_lease(bob_laptop, laptop_ended)
    assert sweep() == 1
    assert invoke("presence_push", connections_stream.event()) == {"batchItemFailures": []}
    assert poster.of_type(alice.connection_id, "presence")[-1] == {
        "type": "presence",
        "userId": "bob",
        "online": False,
        "lastSeen": clock.iso(laptop_ended),
    }
    assert users.last_seen(["bob"]) == {"bob": clock.iso(laptop_ended)}
    assert poster.closed == [bob_phone.connection_id, bob_laptop.connection_id]
    assert alice.connection_id not in poster.closed


def test_the_sweep_reaches_every_shard(device: Any, poster: FakePoster) -> None:
    devices = [device(f"user-{i}") for i in range(12)]
    assert len({lease_shard(d.connection_id) for d in devices}) > 1
    for dev in devices:
        set_lease(dev, int(time.time()) - 1)
    assert sweep() == 12
    assert sorted(poster.closed) == sorted(d.connection_id for d in devices)


def test_a_socket_already_gone_is_removed_and_one_that_cannot_be_closed_is_kept(
    device: Any, poster: FakePoster
) -> None:
    gone, stuck = device("alice", "phone"), device("alice", "laptop")
    poster.gone.add(gone.connection_id)  # 410: closed already, without $disconnect
    poster.failing_closes.add(stuck.connection_id)
    for dev in (gone, stuck):
        set_lease(dev, int(time.time()) - 1)

    assert sweep() == 1
    assert connection_record("alice", gone.connection_id) is None
    # No socket is left open without its record: the next run tries again
    assert connection_record("alice", stuck.connection_id) is not None
    poster.failing_closes.clear()
    assert sweep() == 1 and poster.closed == [stuck.connection_id]


def test_the_sweep_checks_the_table_not_the_lagging_index(device: Any, poster: FakePoster, ddb_quirks: Quirks) -> None:
    # Given a lease that ended, as the index shows it; a ping then renews it, which the index does not show yet
    phone = device("alice")
    ended = int(time.time()) - 1
    set_lease(phone, ended)
    ddb_quirks.set(index_lag_s=60)
    ping(phone)
    assert lease_of(phone) > time.time()

    with acting_as("sweep"):
        assert ("alice", phone.connection_id) in connections.lapsed_in_shard(lease_shard(phone.connection_id), ended)

    # When the sweep runs (its index query finds the old lease)
    assert sweep() == 0

    # Then the renewed connection is neither closed nor removed
    assert poster.closed == [] and connection_record("alice", phone.connection_id) is not None


def test_the_sweep_starts_nothing_past_its_deadline(device: Any, poster: FakePoster) -> None:
    from chat import liveness

    phone = device("alice")
    set_lease(phone, int(time.time()) - 1)
    with acting_as("sweep"):
        assert liveness.sweep(deadline=time.monotonic()) == 0
    assert poster.closed == [] and connection_record("alice", phone.connection_id) is not None


def test_a_record_renewed_or_removed_meanwhile_is_not_removed_by_the_sweep(device: Any) -> None:
    """The store's own guard: the removal is conditional on the lease having ended."""
    phone, laptop = device("alice", "phone"), device("alice", "laptop")
    now = int(time.time())
    assert not connections.remove_lapsed("alice", phone.connection_id, now)  # its lease runs
    assert connection_record("alice", phone.connection_id) is not None
    laptop.disconnect()
    assert not connections.remove_lapsed("alice", laptop.connection_id, now + CONNECTION_LEASE_S)  # gone already
