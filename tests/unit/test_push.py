"""Posting to many sockets: bounded concurrency, 410 vs 429 handling, backoff."""

from __future__ import annotations

from typing import Any

import pytest

from chat import push
from chat.domain import Connection


def conn(i: int) -> Connection:
    return Connection(f"user{i % 3}", f"c{i}", "d", "t", 0)


class Poster:
    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.calls: list[str] = []

    def post(self, connection_id: str, data: bytes) -> None:
        self.calls.append(connection_id)
        outcome = self.script.get(connection_id, []).pop(0) if self.script.get(connection_id) else "ok"
        if outcome == "gone":
            raise push.Gone(connection_id)
        if outcome == "429":
            raise push.Throttled(connection_id)


@pytest.fixture(autouse=True)
def no_store(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    deleted: list[tuple[str, str]] = []
    monkeypatch.setattr(
        push.connection_store, "delete_connection", lambda u, c, connected_before=None: deleted.append((u, c))
    )
    return deleted


def test_gone_connections_are_deleted_and_throttled_ones_retried(no_store: list[Any]) -> None:
    sleeps: list[float] = []
    poster = Poster({"c1": ["gone"], "c2": ["429", "429"], "c3": ["429"] * (push.THROTTLE_RETRIES + 1)})

    result = push.push(((conn(i), b"x") for i in range(5)), poster=poster, sleep=sleeps.append)

    assert [c.connection_id for c in result.delivered] == ["c0", "c2", "c4"]
    assert [c.connection_id for c in result.gone] == ["c1"]
    assert [c.connection_id for c in result.failed] == ["c3"] and not result.ok
    assert no_store == [("user1", "c1")]
    assert poster.calls.count("c3") == push.THROTTLE_RETRIES + 1
    assert len(sleeps) == 2 + push.THROTTLE_RETRIES


def test_backoff_grows_and_stays_bounded() -> None:
    sleeps: list[float] = []
    poster = Poster({"c0": ["429"] * push.THROTTLE_RETRIES})
    result = push.push([(conn(0), b"x")], poster=poster, sleep=sleeps.append)
    assert result.ok and len(sleeps) == push.THROTTLE_RETRIES
    assert sleeps[-1] > sleeps[0] and max(sleeps) < 1  # exponential with jitter


def test_an_unexpected_error_fails_that_connection_only() -> None:
    class Broken:
        def post(self, connection_id: str, data: bytes) -> None:
            if connection_id == "c1":
                raise RuntimeError("socket error")

    result = push.push(((conn(i), b"x") for i in range(3)), poster=Broken())
    assert [c.connection_id for c in result.failed] == ["c1"] and len(result.delivered) == 2


def test_frames_to_one_connection_go_in_order_and_stop_at_a_gone_socket(no_store: list[Any]) -> None:
    sleeps: list[float] = []
    posted: list[bytes] = []

    class Recording(Poster):
        def post(self, connection_id: str, data: bytes) -> None:
            super().post(connection_id, data)
            posted.append(data)

    poster = Recording({"c0": ["ok", "429", "ok", "gone"]})
    result = push.post_in_order(conn(0), [b"1", b"2", b"3", b"4"], poster=poster, sleep=sleeps.append)

    assert posted == [b"1", b"2"] and len(sleeps) == 1  # the second after one 429; the third found it gone
    assert poster.calls == ["c0"] * 4  # the fourth is never posted
    assert result.gone == [conn(0)] and not result.delivered and result.ok
    assert no_store == [("user0", "c0")]


def test_frames_to_one_connection_stop_when_still_throttled(no_store: list[Any]) -> None:
    poster = Poster({"c0": ["429"] * (push.THROTTLE_RETRIES + 1)})
    result = push.post_in_order(conn(0), [b"1", b"2"], poster=poster, sleep=lambda s: None)
    assert result.failed == [conn(0)] and not result.ok
    assert poster.calls == ["c0"] * (push.THROTTLE_RETRIES + 1)  # the second frame is never posted
    assert no_store == []


class Closer:
    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes
        self.calls = 0

    def close(self, connection_id: str) -> None:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "gone":
            raise push.Gone(connection_id)
        if outcome == "429":
            raise push.Throttled(connection_id)
        if outcome == "500":
            raise RuntimeError("API Gateway answered 500")


def test_closing_a_socket_retries_429_and_tells_gone_from_failed() -> None:
    sleeps: list[float] = []
    assert push.close_connection(conn(0), Closer(["429", "429"]), sleep=sleeps.append) == "closed"
    assert len(sleeps) == 2
    assert push.close_connection(conn(0), Closer(["gone"]), sleep=sleeps.append) == "gone"
    always = Closer(["429"] * (push.THROTTLE_RETRIES + 1))
    assert push.close_connection(conn(0), always, sleep=sleeps.append) == "failed"
    assert always.calls == push.THROTTLE_RETRIES + 1
    assert push.close_connection(conn(0), Closer(["500"]), sleep=sleeps.append) == "failed"
