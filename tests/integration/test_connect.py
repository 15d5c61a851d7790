"""Handshake: the authorizer admits a valid token + deviceId and nothing else; connect stores the record."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chat.store import connections, users
from chat.store.connections import CONNECTION_TTL_S
from local import events
from local.events import LOCAL_API
from local.issuer import LocalIssuer
from tests.integration.conftest import Device
from tests.integration.support import FakePoster, invoke

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
