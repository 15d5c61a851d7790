"""Per-user token buckets through the real route handlers against moto: declared in chat/actions.py,
applied by chat/api.py, stored in the Limits table."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chat import clock, config
from chat import rate_limits as rate_limit_module
from chat.actions import ACTIONS, BY_NAME
from chat.config import ConfigurationError
from chat.errors import RateLimited
from chat.rate_limits import bucket_key
from chat.store import limits
from chat.store.models import LimitModel
from chat.token_bucket import RateLimit, admit
from tests.integration.conftest import Device
from tests.integration.support import FakePoster, table_contents

T0 = 1_800_000_000_000  # ms
LIMITED = [action.name for action in ACTIONS if action.limit is not None]


@pytest.fixture
def now_ms(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The buckets' clock, settable: now_ms[0]."""
    now = [T0]
    monkeypatch.setattr(clock, "epoch_ms", lambda: now[0])
    return now


@pytest.fixture
def world(device: Any) -> dict[str, Any]:
    """alice, admin of a group with bob; carol and dave exist; a direct chat of alice and bob."""
    alice, bob, _carol, _dave = device("alice"), device("bob"), device("carol"), device("dave")
    created = alice.do({"action": "createGroup", "name": "club", "members": ["bob"]})
    assert created is not None and created["type"] == "group"
    alice.send("seq 1, to edit, delete and react to", conversationId=created["conversationId"])
    for bucket in LimitModel.scan():  # every bucket full again: the tests set their own limits
        bucket.delete()
    return {"alice": alice, "bob": bob, "group": created["conversationId"]}


def frame_of(action: str, group: str) -> dict[str, Any]:
    """A frame of the action that alice, the group's admin, may send (again and again)."""
    frames: dict[str, dict[str, Any]] = {
        "send": {"to": "bob", "clientMsgId": uuid.uuid4().hex, "body": {"text": "hi"}},
        "sync": {"cursors": {}},
        "createGroup": {"name": "more", "members": ["bob"]},
        "addMembers": {"conversationId": group, "userIds": ["carol"]},
        "subscribePresence": {"userIds": ["bob"]},
        "edit": {"conversationId": group, "seq": 1, "body": {"text": uuid.uuid4().hex}},
        "delete": {"conversationId": group, "seq": 1},  # again and again: the first deletes, the others find it deleted
        "react": {"conversationId": group, "seq": 1, "emoji": "\U0001f44d"},
        "mute": {"conversationId": group},
        "unmute": {"conversationId": group},
        "block": {"userId": "carol"},
        "unblock": {"userId": "carol"},
        "registerPush": {"platform": "fcm", "token": "fcm-token"},
        "unregisterPush": {},
        "requestUpload": {"conversationId": group, "contentType": "image/png", "size": 1024},
    }
    return {"action": action, "requestId": uuid.uuid4().hex, **frames[action]}


def test_the_limited_actions_are_the_ones_the_issue_names() -> None:
    assert set(LIMITED) == {
        "send", "createGroup", "addMembers", "sync", "subscribePresence", "edit", "delete", "react", "mute", "unmute",
        "block", "unblock", "registerPush", "unregisterPush", "requestUpload",
    }  # fmt: skip


def test_the_declared_limits_apply_unless_overridden(rate_limits: Callable[[str], None]) -> None:
    rate_limits("")
    declared = {a.name: a.limit for a in ACTIONS if a.limit is not None}
    assert config.settings().rate_limits == declared
    rate_limits("send=100/s,sync=10/s")
    assert config.settings().rate_limits == {**declared, "send": RateLimit(100, 100), "sync": RateLimit(10, 10)}
    rate_limits("createGroup=off")
    assert "createGroup" not in config.settings().rate_limits
    rate_limits("off")
    assert config.settings().rate_limits == {}


@pytest.mark.parametrize("spec", ["send=fast", "typing=1/s", "sned=1/s", "send=1/s,send=2/s"])
def test_a_bad_override_fails_the_cold_start_naming_the_variable(rate_limits: Callable[[str], None], spec: str) -> None:
    rate_limits(spec)
    with pytest.raises(ConfigurationError, match="CHAT_RATE_LIMITS"):
        config.settings()


@pytest.mark.parametrize("action", LIMITED)
def test_a_frame_over_the_limit_is_rate_limited_with_retry_after_and_stores_nothing(
    world: dict[str, Any], poster: FakePoster, rate_limits: Callable[[str], None], now_ms: list[int], action: str
) -> None:
    alice: Device = world["alice"]
    rate_limits(f"{action}=1/min:2")  # 2 at once, then one a minute
    for _ in range(2):
        reply = alice.do(frame_of(action, world["group"]))
        assert reply is None or reply["type"] != "error", reply
    before = table_contents(but=("Limits",))
    posts_before = sum(len(frames) for frames in poster.frames.values())

    refused = frame_of(action, world["group"])
    reply = alice.do(refused)

    assert reply is not None
    assert (reply["type"], reply["code"], reply["action"]) == ("error", "rate_limited", action)
    assert reply["retryAfterMs"] == 60_000  # the bucket is empty: the next token comes in a minute
    assert reply["requestId"] == refused["requestId"]
    assert table_contents(but=("Limits",)) == before
    assert sum(len(frames) for frames in poster.frames.values()) == posts_before  # nothing pushed either


@pytest.mark.parametrize("action", LIMITED)
def test_the_bucket_refills_at_its_rate(
    world: dict[str, Any], rate_limits: Callable[[str], None], now_ms: list[int], action: str
) -> None:
    alice: Device = world["alice"]
    rate_limits(f"{action}=2/s:3")  # a token every 500 ms, 3 at most

    def outcome() -> str:
        reply = alice.do(frame_of(action, world["group"]))
        return "ok" if reply is None or reply["type"] != "error" else str(reply["code"])

    assert [outcome() for _ in range(4)] == ["ok", "ok", "ok", "rate_limited"]
    now_ms[0] += 499
    assert outcome() == "rate_limited"
    now_ms[0] += 1
    assert [outcome(), outcome()] == ["ok", "rate_limited"]  # one token came back, one was taken
    now_ms[0] += 60_000  # long idle: full again, never more than the burst
    assert [outcome() for _ in range(4)] == ["ok", "ok", "ok", "rate_limited"]


def test_the_retry_after_is_when_the_next_token_comes(
    world: dict[str, Any], rate_limits: Callable[[str], None], now_ms: list[int]
) -> None:
    alice: Device = world["alice"]
    rate_limits("send=20/s:2")  # 50 ms a token
    assert alice.send(to="bob")["type"] == alice.send(to="bob")["type"] == "sent"
    now_ms[0] += 30
    reply = alice.send(to="bob")
    assert (reply["code"], reply["retryAfterMs"]) == ("rate_limited", 20)
    now_ms[0] += 20
    assert alice.send(to="bob")["type"] == "sent"


def test_a_retry_of_a_refused_send_stores_it_once(
    world: dict[str, Any], rate_limits: Callable[[str], None], now_ms: list[int]
) -> None:
    alice: Device = world["alice"]
    rate_limits("send=1/s:1")
    first = alice.send(to="bob")
    frame_id = uuid.uuid4().hex
    refused = alice.send("later", client_msg_id=frame_id, to="bob")
    assert refused["code"] == "rate_limited"
    now_ms[0] += refused["retryAfterMs"]
    sent = alice.send("later", client_msg_id=frame_id, to="bob")
    assert (sent["type"], sent["seq"]) == ("sent", first["seq"] + 1)


def test_buckets_are_per_user_and_per_action(
    world: dict[str, Any], rate_limits: Callable[[str], None], now_ms: list[int]
) -> None:
    alice, bob = world["alice"], world["bob"]
    rate_limits("send=1/min:1,sync=1/min:1")
    assert alice.send(to="bob")["type"] == "sent"
    assert alice.send(to="bob")["code"] == "rate_limited"
    assert bob.send(to="alice")["type"] == "sent"  # bob's bucket is his own
    synced = alice.do({"action": "sync", "cursors": {}})
    assert synced is not None and synced["type"] == "synced"  # and alice's sync bucket is another


def test_a_devices_frames_share_the_users_bucket(device: Any, rate_limits: Callable[[str], None]) -> None:
    phone, laptop, _bob = device("alice", "phone"), device("alice", "laptop"), device("bob")
    rate_limits("send=1/min:1")
    assert phone.send(to="bob")["type"] == "sent"
    assert laptop.send(to="bob")["code"] == "rate_limited"


def test_actions_without_a_limit_are_never_counted(
    world: dict[str, Any], rate_limits: Callable[[str], None], now_ms: list[int]
) -> None:
    alice: Device = world["alice"]
    rate_limits("")  # the declared limits
    before = table_contents()["Limits"]
    for _ in range(25):
        pong = alice.do({"action": "ping"})
        assert pong == {"type": "pong"}
    history = alice.do({"action": "history", "conversationId": world["group"]})
    assert history is not None and history["type"] == "history"
    assert table_contents()["Limits"] == before


def test_concurrent_frames_never_take_more_than_the_burst(device: Any, rate_limits: Callable[[str], None]) -> None:
    """30 sends at once from 3 devices (concurrent invocations, as Lambda runs them), a burst of 5 and a
    token a minute: exactly 5 are stored, whatever the interleaving of their conditional writes."""
    devices = [device("alice", f"d{i}") for i in range(3)]
    device("bob")
    rate_limits("send=1/min:5")
    replies: list[dict[str, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(30)

    def one(sender: Device) -> None:
        start.wait()
        reply = sender.send(to="bob")
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=one, args=(devices[i % 3],)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    outcomes = sorted(r.get("code", r["type"]) for r in replies)
    assert outcomes == ["rate_limited"] * 25 + ["sent"] * 5
    assert sorted(r["seq"] for r in replies if r["type"] == "sent") == [1, 2, 3, 4, 5]
    assert all(r["retryAfterMs"] > 0 for r in replies if r["type"] == "error")
    assert len(table_contents()["Messages"]) == 5


def test_the_stored_bucket_follows_the_pure_rule(aws: None) -> None:
    """chat/store/limits.py's conditional writes take exactly the tokens chat/token_bucket.admit does."""
    limit = RateLimit(per_second=4, burst=3)  # 250 ms a token
    key = bucket_key("alice", "send")
    full_at: int | None = None
    now = T0
    for step in [0, 0, 0, 0, 100, 150, 0, 0, 1000, 0, 0, 0, 0, 249, 1, 5000, 0, 10, 20, 30, 40, 600, 0, 0]:
        now += step
        expected_full_at, expected_wait = admit(limit, full_at, now)
        wait = limits.take_token(key, limit, now)
        assert wait == (None if expected_full_at is not None else expected_wait), (step, now - T0)
        full_at = expected_full_at if expected_full_at is not None else full_at


def test_a_bucket_item_expires_after_it_is_full_again(aws: None) -> None:
    from chat.store.models import LimitModel

    limit = BY_NAME["send"].limit
    assert limit is not None
    for _ in range(60):
        limits.take_token("k", limit, T0)
    item = LimitModel.get("k", consistent_read=True)
    assert item.full_at == T0 + 60 * limit.interval_ms  # 3 s: the whole burst taken
    assert T0 / 1000 + 3 < item.expires_at <= T0 / 1000 + 3 + 61  # full again after 3 s, then TTL may drop it


def test_a_frame_whose_bucket_dynamodb_cannot_serve_is_let_through(
    world: dict[str, Any], rate_limits: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynamodb.exceptions import UpdateError

    from chat.store import limits as limits_store

    def throttled(write: Any) -> bool:
        raise UpdateError("ProvisionedThroughputExceededException")

    rate_limits("send=1/min:1")
    monkeypatch.setattr(limits_store, "applied", throttled)
    assert world["alice"].send(to="bob")["type"] == "sent"
    assert world["alice"].send(to="bob")["type"] == "sent"  # no bucket: no limit, and no failed send


def test_a_frame_judged_by_a_stale_clock_is_judged_again_by_the_time_it_is_now(
    aws: None, rate_limits: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two frames of a burst of 2, the first to read the clock the last to write: it must not be refused
    because the other moved the bucket after its clock was read (a busy machine, a slow call)."""
    rate_limits("send=1/s:2")
    readings: list[int] = []
    monkeypatch.setattr(clock, "epoch_ms", lambda: readings.pop(0))

    # Given a frame that read the clock at T0 + 1000 has taken a token (the bucket is full at T0 + 2000)
    readings[:] = [T0 + 1000, T0 + 1000]
    rate_limit_module.take_token("alice", "send")
    # When a frame that read the clock at T0 writes after it (by then it is T0 + 1100)
    readings[:] = [T0, T0 + 1100, T0 + 1100]
    rate_limit_module.take_token("alice", "send")  # not refused: at T0 + 1100 the bucket has a token
    assert readings == []

    # And a frame that finds the bucket empty at the time it is now is still refused, judged once
    readings[:] = [T0 + 1110, T0 + 1110]
    with pytest.raises(RateLimited):
        rate_limit_module.take_token("alice", "send")
    assert readings == []
