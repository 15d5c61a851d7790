"""Handshake: the authorizer admits a valid token + deviceId and nothing else; connect stores the record."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chat.sessions import MAX_CONNECTIONS_PER_USER
from chat.store import connections, users
from chat.store.connections import CONNECTION_TTL_S
from local import events
from local.events import LOCAL_API
from local.issuer import LocalIssuer
from tests.integration.conftest import Device
from tests.integration.support import FakePoster, connection_record, invoke

METHOD_ARN = LOCAL_API.method_arn("$connect")


def authorizer_event(token: str | None, device_id: str | None) -> dict[str, Any]:
    """The authorizer's event for a handshake with these query parameters (those that are not None)."""
    query = {k: v for k, v in (("token", token), ("deviceId", device_id)) if v is not None}
    return events.authorizer_event(LOCAL_API, events.connection_from_handshake(urlencode(query)))


def test_valid_token_allows_and_names_the_user(issuer: LocalIssuer) -> None:
    policy = invoke("authorizer", authorizer_event(issuer.issue("alice"), "phone-1"))

    assert policy["principalId"] == "alice"
    assert policy["policyDocument"]["Statement"][0] == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": METHOD_ARN,
    }
    assert policy["context"] == {
        "userId": "alice",
        "deviceId": "phone-1",
        "tokenExpiresAt": policy["context"]["tokenExpiresAt"],
    }
    # the token's expiry, for $connect to store: the connection is closed once it passes
    assert abs(policy["context"]["tokenExpiresAt"] - (time.time() + 12 * 3600)) < 60


@pytest.mark.parametrize(
    "token_kind, device_id",
    [
        ("missing", "phone"),
        ("garbage", "phone"),
        ("expired", "phone"),
        ("forged", "phone"),
        ("wrong_audience", "phone"),
        ("wrong_issuer", "phone"),
        ("access_token", "phone"),
        ("valid", None),
        ("valid", ""),
        ("valid", "bad device!"),
        ("valid", "x" * 65),
        ("valid", "laptop\n"),  # `$` matches before a trailing newline: the whole id must match
        ("valid", "\nlaptop"),
        ("valid", "lap\ntop"),
    ],
)
def test_bad_handshakes_are_refused(
    issuer: LocalIssuer, tmp_path: Path, token_kind: str, device_id: str | None
) -> None:
    tokens = {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": issuer.issue("alice", iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "forged": LocalIssuer(tmp_path).issue("alice"),  # another key, same issuer and audience
        "wrong_audience": issuer.issue("alice", aud="someone-else"),
        "wrong_issuer": issuer.issue("alice", iss="https://evil.example"),
        "access_token": issuer.issue("alice", token_use="access"),
        "valid": issuer.issue("alice"),
    }

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke("authorizer", authorizer_event(tokens[token_kind], device_id))


def test_connect_stores_each_connection_with_a_ttl_and_lists_it_on_the_user(device: Any) -> None:
    # When two devices of alice (signed up) connect
    phone = device("alice", "phone")
    laptop = device("alice", "laptop")

    # Then both connections are recorded with a TTL a little over 2 hours, and fan-out finds them
    live = {c.connection_id: c for c in connections.live_connections("alice")}
    assert set(live) == {phone.connection_id, laptop.connection_id}
    assert live[phone.connection_id].device_id == "phone"
    ttl = live[phone.connection_id].expires_at - time.time()
    assert 2 * 3600 < ttl <= CONNECTION_TTL_S
    assert {e.connection_id for e in users.endpoints_of(["alice"])} == set(live)


def test_an_account_confirmed_before_the_signup_trigger_gets_its_user_at_connect(
    aws: None, issuer: LocalIssuer, poster: FakePoster
) -> None:
    # Given olga's account predates the sign-up trigger: no user item
    assert not users.user_exists("olga")

    # When her phone connects
    phone = Device("olga", "phone").connect()

    # Then she exists (others can write to her) and fan-out finds her phone
    assert users.user_exists("olga")
    assert [e.connection_id for e in users.endpoints_of(["olga"])] == [phone.connection_id]


def test_disconnect_removes_only_that_connection(device: Any) -> None:
    phone = device("alice", "phone")
    laptop = device("alice", "laptop")

    phone.disconnect()

    assert [c.connection_id for c in connections.live_connections("alice")] == [laptop.connection_id]
    assert [e.connection_id for e in users.endpoints_of(["alice"])] == [laptop.connection_id]


def test_fan_out_finds_every_users_connections_in_one_batch(device: Any) -> None:
    phone, laptop, bob = device("alice", "phone"), device("alice", "laptop"), device("bob")
    found = {(e.user_id, e.connection_id) for e in users.endpoints_of(["alice", "bob", "alice", "nobody"])}
    assert found == {("alice", phone.connection_id), ("alice", laptop.connection_id), ("bob", bob.connection_id)}


# ---- at most MAX_CONNECTIONS_PER_USER open sockets per user ---------------------------------------------


def connect_status(dev: Device) -> int:
    """The connect function's status for this device's handshake (2xx: accepted, else refused)."""
    result = invoke("connect", events.connect_event(LOCAL_API, dev.connection))
    return int(result["statusCode"])


def test_a_user_with_the_most_connections_gets_the_next_handshake_refused_and_nothing_stored(device: Any) -> None:
    open_ones = [device("alice", f"d{i}") for i in range(MAX_CONNECTIONS_PER_USER)]
    eleventh = Device("alice", "one-too-many")

    assert connect_status(eleventh) == 429

    assert connection_record("alice", eleventh.connection_id) is None
    listed = {e.connection_id for e in users.endpoints_of(["alice"])}
    assert listed == {d.connection_id for d in open_ones}
    assert connect_status(Device("bob", "phone").sign_up()) == 200  # another user is not affected


def test_once_one_closes_the_next_connection_is_accepted(device: Any) -> None:
    open_ones = [device("alice", f"d{i}") for i in range(MAX_CONNECTIONS_PER_USER)]
    assert connect_status(Device("alice", "refused")) == 429

    open_ones[3].disconnect()
    eleventh = Device("alice", "eleventh")

    assert connect_status(eleventh) == 200
    assert connection_record("alice", eleventh.connection_id) is not None
    assert len(users.endpoints_of(["alice"])) == MAX_CONNECTIONS_PER_USER
    assert connect_status(Device("alice", "twelfth")) == 429


def test_dead_connections_still_listed_make_room(device: Any) -> None:
    """Sockets whose $disconnect never came: records past their TTL (or removed by it) are not live."""
    from chat.store.models import ConnectionModel

    open_ones = [device("alice", f"d{i}") for i in range(MAX_CONNECTIONS_PER_USER)]
    expired, removed = open_ones[0], open_ones[1]
    ConnectionModel.get("alice", expired.connection_id).update(
        actions=[ConnectionModel.expires_at.set(int(time.time()) - 1)]
    )
    ConnectionModel.get("alice", removed.connection_id).delete()  # TTL removes the record, not the listing

    eleventh = Device("alice", "eleventh")
    assert connect_status(eleventh) == 200

    listed = {e.connection_id for e in users.endpoints_of(["alice"])}
    assert listed == {d.connection_id for d in open_ones[2:]} | {eleventh.connection_id}
    assert connect_status(Device("alice", "twelfth")) == 200  # the second dead one made room too
    assert connect_status(Device("alice", "thirteenth")) == 429


def test_devices_connecting_at_once_never_get_past_the_limit(aws: None, issuer: LocalIssuer) -> None:
    Device("alice", "any").sign_up()
    contenders = [Device("alice", f"d{i}") for i in range(MAX_CONNECTIONS_PER_USER + 5)]
    statuses: list[int] = []
    start = threading.Barrier(len(contenders))

    def one(dev: Device) -> None:
        start.wait()
        statuses.append(connect_status(dev))

    threads = [threading.Thread(target=one, args=(dev,)) for dev in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * MAX_CONNECTIONS_PER_USER + [429] * 5
    assert len(connections.live_connections("alice")) == MAX_CONNECTIONS_PER_USER
    assert len(users.endpoints_of(["alice"])) == MAX_CONNECTIONS_PER_USER
