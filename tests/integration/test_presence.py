"""Presence: subscribePresence through its real handler, changes driven by moto's Connections stream records."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chat import clock
from chat import push as push_module
from chat.config import table_name
from chat.store import connections, users
from chat.store.models import ConnectionModel, MemberModel
from chat.topology import TABLES
from local.streams import StreamReader
from tests.integration.conftest import Device, run_fanout
from tests.integration.support import FakePoster, connection_record, invoke

Presence = Callable[[], None]


@pytest.fixture
def connections_stream(aws: None) -> StreamReader:
    return StreamReader.of_table("Connections")


@pytest.fixture
def process(connections_stream: StreamReader) -> Presence:
    """Runs presence_push over every Connections record written since the last call."""

    def run() -> None:
        assert presence_push(connections_stream.event()) == {"batchItemFailures": []}

    return run


def presence_push(event: dict[str, Any]) -> dict[str, Any]:
    """The presence_push function, as Lambda's stream event source mapping invokes it."""
    return invoke("presence_push", event)


def subscribe(dev: Device, user_ids: list[str]) -> dict[str, Any] | None:
    return dev.call("presence", {"action": "subscribePresence", "userIds": user_ids, "requestId": "ps-1"})


def presence_frames(poster: FakePoster, dev: Device) -> list[dict[str, Any]]:
    return poster.of_type(dev.connection_id, "presence")


def online(user_id: str) -> dict[str, Any]:
    return {"type": "presence", "userId": user_id, "online": True, "lastSeen": None}


def offline(user_id: str, last_seen: str | None) -> dict[str, Any]:
    return {"type": "presence", "userId": user_id, "online": False, "lastSeen": last_seen}


def items(logical_name: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.scan(TableName=table_name(TABLES[logical_name]), ConsistentRead=True)["Items"]  # type: ignore[no-any-return]


def subscription_rows() -> set[tuple[str, str]]:
    return {(i["watchedUserId"]["S"], i["connectionId"]["S"]) for i in items("PresenceSubscriptions")}


def stored_last_seen(user_id: str) -> str | None:
    return users.last_seen([user_id]).get(user_id)


def ghost(user_id: str, connection_id: str, expired_s_ago: int) -> int:
    """A connection record whose socket vanished without $disconnect and whose TTL has passed."""
    expires_at = int(time.time()) - expired_s_ago
    ConnectionModel(
        user_id=user_id,
        connection_id=connection_id,
        device_id="old-phone",
        connected_at=clock.iso(expires_at - 2 * 3600),
        expires_at=expires_at,
    ).save()
    return expires_at


# ---- online / offline ---------------------------------------------------------------------------------


def test_first_device_pushes_online_and_a_second_device_pushes_nothing(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    # Given bob, offline, shares a chat with alice, who watches him
    alice, bob_phone = device("alice"), device("bob")
    alice.send(to="bob")
    bob_phone.disconnect()
    process()
    assert subscribe(alice, ["bob"]) is None
    assert presence_frames(poster, alice) == [offline("bob", stored_last_seen("bob"))]

    # When bob's phone connects: online
    device("bob", "phone")
    process()
    assert presence_frames(poster, alice)[1:] == [online("bob")]
    assert stored_last_seen("bob") is None

    # When his laptop connects too: no change, nothing pushed
    device("bob", "laptop")
    process()
    assert presence_frames(poster, alice)[1:] == [online("bob")]


def test_last_device_leaving_sets_last_seen_and_pushes_offline(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    alice, bob_phone, bob_laptop = device("alice"), device("bob", "phone"), device("bob", "laptop")
    alice.send(to="bob")
    process()
    subscribe(alice, ["bob"])
    assert presence_frames(poster, alice) == [online("bob")]

    # The phone leaves: the laptop keeps bob online
    bob_phone.disconnect()
    process()
    assert presence_frames(poster, alice) == [online("bob")]

    # The laptop leaves: offline, last seen now (DynamoDB stream records tell the time to the second)
    before = clock.iso(int(time.time()))
    bob_laptop.disconnect()
    process()
    after = clock.now_iso()

    last_seen = stored_last_seen("bob")
    assert last_seen is not None and before <= last_seen <= after
    assert presence_frames(poster, alice)[1:] == [offline("bob", last_seen)]
    # and a later subscriber is told the same
    carol = device("carol")
    carol.send(to="bob")
    subscribe(carol, ["bob"])
    assert presence_frames(poster, carol) == [offline("bob", last_seen)]


def test_last_seen_is_when_the_connection_was_removed_not_when_its_record_was_processed(
    device: Any, poster: FakePoster, connections_stream: StreamReader
) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    presence_push(connections_stream.event())
    subscribe(alice, ["bob"])

    # bob leaves; his record's REMOVE reaches presence_push five minutes late (a backlog, retries)
    bob.disconnect()
    records = connections_stream.records()
    assert [r["eventName"] for r in records] == ["REMOVE"]
    removed_at = records[-1]["dynamodb"]["ApproximateCreationDateTime"]
    assert abs(removed_at - time.time()) < 5
    records[-1]["dynamodb"]["ApproximateCreationDateTime"] = removed_at - 300  # as if processed 5 min later
    assert presence_push({"Records": records}) == {"batchItemFailures": []}

    assert stored_last_seen("bob") == clock.iso(removed_at - 300)
    assert presence_frames(poster, alice)[-1] == offline("bob", clock.iso(removed_at - 300))


def test_devices_connecting_together_push_online_once(device: Any, poster: FakePoster, process: Presence) -> None:
    # Both INSERTs are processed after both connections exist: each sees the other
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    bob.disconnect()
    process()
    subscribe(alice, ["bob"])

    device("bob", "phone")
    device("bob", "laptop")
    process()

    assert presence_frames(poster, alice)[1:] == [online("bob")]


def test_reconnecting_pushes_nothing(device: Any, poster: FakePoster, process: Presence) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    process()
    subscribe(alice, ["bob"])

    # The new socket opens before the old one's REMOVE is processed
    bob.disconnect()
    device("bob", "phone")
    process()

    assert presence_frames(poster, alice) == [online("bob")]
    assert stored_last_seen("bob") is None


def test_connection_removed_on_410_counts_as_gone(
    device: Any, poster: FakePoster, process: Presence, messages_stream: StreamReader
) -> None:
    # Given bob's only socket vanished without $disconnect
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    process()
    subscribe(alice, ["bob"])
    bob.vanish(poster)

    # When a push to it answers 410 (the fan-out of a message removes the record)
    alice.send("are you there?", to="bob")
    run_fanout(messages_stream)
    assert connections.live_connections("bob") == []

    # Then the Connections stream's REMOVE makes him offline
    process()
    last_seen = stored_last_seen("bob")
    assert last_seen is not None
    assert presence_frames(poster, alice) == [online("bob"), offline("bob", last_seen)]


def test_ttl_expired_record_is_not_online(device: Any, poster: FakePoster, process: Presence) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    bob.disconnect()
    process()
    subscribe(alice, ["bob"])
    last_seen = stored_last_seen("bob")
    assert presence_frames(poster, alice) == [offline("bob", last_seen)]

    # A record past its TTL (DynamoDB deletes expired items only eventually) appears: no change
    expires_at = ghost("bob", "ghost-1=", expired_s_ago=60)
    process()
    assert presence_frames(poster, alice) == [offline("bob", last_seen)]
    subscribe(alice, ["bob"])
    assert presence_frames(poster, alice)[-1] == offline("bob", last_seen)

    # It does not hide a real device coming online
    laptop = device("bob", "laptop")
    process()
    assert presence_frames(poster, alice)[-1] == online("bob")

    # When TTL deletes the ghost, the laptop keeps bob online
    ConnectionModel(user_id="bob", connection_id="ghost-1=").delete()
    process()
    assert presence_frames(poster, alice)[-1] == online("bob")

    # A TTL deletion of the last record: last seen is when it expired, not when it was deleted
    laptop_expires = ghost("bob", "ghost-2=", expired_s_ago=30)
    assert laptop_expires > expires_at
    laptop.disconnect()
    process()
    laptop_left = stored_last_seen("bob")
    assert laptop_left is not None and laptop_left > clock.iso(laptop_expires)
    ConnectionModel(user_id="bob", connection_id="ghost-2=").delete()
    process()
    assert stored_last_seen("bob") == laptop_left  # an older expiry does not move lastSeen back
    assert presence_frames(poster, alice)[-1] == offline("bob", laptop_left)


def test_ttl_deletion_of_the_only_record_sets_last_seen_to_its_expiry(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    # bob's socket vanished; only TTL will remove its record
    ConnectionModel(user_id="bob", connection_id=bob.connection_id).update(
        actions=[ConnectionModel.expires_at.set(int(time.time()) - 120)]
    )
    process()
    subscribe(alice, ["bob"])
    assert presence_frames(poster, alice) == [offline("bob", None)]  # expired: not online, never seen leaving

    expired_at = int(ConnectionModel.get("bob", bob.connection_id).expires_at)
    ConnectionModel(user_id="bob", connection_id=bob.connection_id).delete()
    process()

    assert stored_last_seen("bob") == clock.iso(expired_at)
    assert presence_frames(poster, alice)[1:] == [offline("bob", clock.iso(expired_at))]


def test_last_seen_only_moves_forward(device: Any) -> None:
    # the store's own guard, for two records of one user processed concurrently
    device("bob").disconnect()
    assert users.advance_last_seen("bob", "2026-11-27T19:31:40.123Z")
    assert not users.advance_last_seen("bob", "2026-11-27T19:31:40.000Z")
    assert not users.advance_last_seen("nobody", "2026-11-27T19:31:40.123Z")  # never creates a user
    assert stored_last_seen("bob") == "2026-11-27T19:31:40.123Z"
    assert users.last_seen(["nobody"]) == {}
    assert users.clear_last_seen("bob")
    assert not users.clear_last_seen("bob")
    assert stored_last_seen("bob") is None


def test_throttled_presence_push_is_retried_before_the_change_is_recorded(
    device: Any, poster: FakePoster, connections_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push_module, "THROTTLE_BASE_DELAY_S", 0.001)
    alice, bob = device("alice"), device("bob")
    alice.send(to="bob")
    presence_push(connections_stream.event())
    subscribe(alice, ["bob"])

    poster.throttle[alice.connection_id] = 100
    bob.disconnect()
    records = connections_stream.records()
    assert [r["eventName"] for r in records] == ["REMOVE"]  # alice's watched set (a MODIFY) is filtered out
    with pytest.raises(Exception, match="All records failed"):  # the whole batch is retried
        presence_push({"Records": records})
    assert stored_last_seen("bob") is None  # not recorded: the retry must push again

    poster.throttle[alice.connection_id] = 0
    assert presence_push({"Records": records}) == {"batchItemFailures": []}
    last_seen = stored_last_seen("bob")
    assert last_seen is not None
    assert presence_frames(poster, alice) == [online("bob"), offline("bob", last_seen)]


# ---- subscribePresence ----------------------------------------------------------------------------------


def test_subscribe_answers_the_current_presence_of_each_user(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    alice, _bob, carol = device("alice"), device("bob"), device("carol")
    alice.send(to="bob")
    carol.send(to="alice")
    carol.disconnect()
    process()
    carol_left = stored_last_seen("carol")
    assert carol_left is not None

    # Duplicates collapse; the direct reply is empty, the frames come through @connections
    assert subscribe(alice, ["bob", "carol", "bob"]) is None

    assert presence_frames(poster, alice) == [online("bob"), offline("carol", carol_left)]


def test_subscribing_to_oneself_is_allowed(device: Any, poster: FakePoster) -> None:
    alice = device("alice")
    assert subscribe(alice, ["alice"]) is None
    assert presence_frames(poster, alice) == [online("alice")]


def group_of(owner: Device, *members: str) -> str:
    reply = owner.do({"action": "createGroup", "name": "g", "members": list(members)})
    assert reply is not None and reply["type"] == "group", reply
    return str(reply["conversationId"])


def forbidden(reply: dict[str, Any] | None) -> bool:
    return reply is not None and (reply["type"], reply["code"]) == ("error", "forbidden")


@pytest.mark.parametrize("how", ["removed", "left"])
def test_a_user_shared_only_a_group_one_of_them_is_no_longer_in_may_not_be_watched(
    device: Any, poster: FakePoster, how: str
) -> None:
    # alice and dave share one group, and nothing else
    alice, dave, _erin = device("alice"), device("dave"), device("erin")
    group = group_of(alice, "dave", "erin")
    assert subscribe(dave, ["alice"]) is None

    if how == "removed":
        alice.do({"action": "removeMembers", "conversationId": group, "userIds": ["dave"]})
    else:
        dave.do({"action": "leaveGroup", "conversationId": group})

    # Neither may watch the other any more, whoever is the former member
    assert forbidden(subscribe(alice, ["dave"]))
    assert forbidden(subscribe(dave, ["alice"]))
    # ... and a conversation they do share again counts at once
    alice.send("still friends?", to="dave")
    assert subscribe(alice, ["dave"]) is None
    assert presence_frames(poster, alice) == [online("dave")]


def test_presence_stops_reaching_a_watcher_once_their_only_shared_group_ends(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    # alice watches dave and erin, dave watches alice; they share one group only
    alice, dave, erin = device("alice"), device("dave"), device("erin")
    group = group_of(alice, "dave", "erin")
    process()
    subscribe(alice, ["dave", "erin"])
    subscribe(dave, ["alice"])

    # When dave is removed from the group, and then alice's only device goes
    alice.do({"action": "removeMembers", "conversationId": group, "userIds": ["dave"]})
    alice.disconnect()
    process()

    # Then dave is not told (though alice did go offline), and his row watching her is gone
    assert stored_last_seen("alice") is not None
    assert presence_frames(poster, dave) == [online("alice")]
    assert ("alice", dave.connection_id) not in subscription_rows()

    # When alice is back and watches again (dave too), and then dave's only device goes
    alice = device("alice", "laptop")
    process()
    assert forbidden(subscribe(alice, ["dave", "erin"]))  # dave may not be asked for any more...
    subscribe(alice, ["erin"])
    dave.disconnect()
    process()

    # Then alice is not told, and erin's changes still reach her
    assert stored_last_seen("dave") is not None
    assert presence_frames(poster, alice) == [online("erin")]
    erin.disconnect()
    process()
    assert presence_frames(poster, alice) == [online("erin"), offline("erin", stored_last_seen("erin"))]


def test_a_subscription_made_before_the_group_ended_is_dropped_at_the_next_change(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    # alice's laptop watches dave and erin from their one shared group; her phone comes and goes
    alice, dave, erin = device("alice", "laptop"), device("dave"), device("erin")
    group = group_of(alice, "dave", "erin")
    process()
    subscribe(alice, ["dave", "erin"])

    # When dave is removed, and then dave's only device goes
    alice.do({"action": "removeMembers", "conversationId": group, "userIds": ["dave"]})
    dave.disconnect()
    process()

    # Then alice is not told, and her row watching dave is gone (erin's stays)
    assert stored_last_seen("dave") is not None
    assert presence_frames(poster, alice) == [online("dave"), online("erin")]
    assert subscription_rows() == {("erin", alice.connection_id)}
    erin.disconnect()
    process()
    assert presence_frames(poster, alice)[-1] == offline("erin", stored_last_seen("erin"))


def test_a_watcher_who_still_shares_another_conversation_keeps_hearing(
    device: Any, poster: FakePoster, process: Presence
) -> None:
    alice, dave = device("alice"), device("dave")
    group = group_of(alice, "dave")
    alice.send("hi", to="dave")
    process()
    subscribe(alice, ["dave"])

    alice.do({"action": "removeMembers", "conversationId": group, "userIds": ["dave"]})
    dave.disconnect()
    process()

    assert presence_frames(poster, alice) == [online("dave"), offline("dave", stored_last_seen("dave"))]


def test_user_sharing_no_conversation_is_forbidden_and_nothing_is_stored(device: Any, poster: FakePoster) -> None:
    alice, _bob, _mallory = device("alice"), device("bob"), device("mallory")
    alice.send(to="bob")
    MemberModel(conversation_id="g_other", user_id="mallory", joined_at=clock.now_iso()).save()

    for strangers in (["bob", "mallory"], ["nobody"]):
        reply = subscribe(alice, strangers)
        assert reply is not None
        assert reply["type"] == "error"
        assert reply["code"] == "forbidden"
        assert reply["action"] == "subscribePresence"
        assert reply["requestId"] == "ps-1"

    assert subscription_rows() == set()
    assert ConnectionModel.get("alice", alice.connection_id).presence_watch is None
    assert poster.frames[alice.connection_id] == []


def test_more_than_100_user_ids_is_limit_exceeded_before_anything_else(device: Any, poster: FakePoster) -> None:
    alice, _bob = device("alice"), device("bob")
    alice.send(to="bob")

    # 101 strangers: the length is refused first (not forbidden), and nothing is stored
    reply = subscribe(alice, [f"u{i}" for i in range(101)])
    assert reply is not None and reply["code"] == "limit_exceeded"
    reply = subscribe(alice, ["bob"] * 101)
    assert reply is not None and reply["code"] == "limit_exceeded"
    assert subscription_rows() == set()
    assert poster.frames[alice.connection_id] == []

    # 100 is fine
    assert subscribe(alice, ["bob"] * 100) is None
    assert presence_frames(poster, alice) == [online("bob")]


def test_a_new_subscription_replaces_the_previous_set(device: Any, poster: FakePoster, process: Presence) -> None:
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    alice.send(to="bob")
    alice.send(to="carol")
    process()

    subscribe(alice, ["bob", "carol"])
    subscribe(alice, ["carol"])

    assert subscription_rows() == {("carol", alice.connection_id)}
    assert ConnectionModel.get("alice", alice.connection_id).presence_watch == {"carol"}
    # the row lives as long as the connection
    row = items("PresenceSubscriptions")[0]
    assert int(row["expiresAt"]["N"]) == connection_record("alice", alice.connection_id).expires_at

    frames_before = len(presence_frames(poster, alice))
    bob.disconnect()
    process()
    assert len(presence_frames(poster, alice)) == frames_before  # bob is no longer watched

    carol.disconnect()
    process()
    assert presence_frames(poster, alice)[-1] == offline("carol", stored_last_seen("carol"))

    # An empty list stops everything
    assert subscribe(alice, []) is None
    assert subscription_rows() == set()
    assert ConnectionModel.get("alice", alice.connection_id).presence_watch is None


def test_changes_reach_every_watching_connection(device: Any, poster: FakePoster, process: Presence) -> None:
    alice_phone, alice_laptop, bob = device("alice", "phone"), device("alice", "laptop"), device("bob")
    alice_phone.send(to="bob")
    process()
    subscribe(alice_phone, ["bob"])
    subscribe(alice_laptop, ["bob"])

    bob.disconnect()
    process()

    last_seen = stored_last_seen("bob")
    for dev in (alice_phone, alice_laptop):
        assert presence_frames(poster, dev) == [online("bob"), offline("bob", last_seen)]


def test_closed_watching_connection_drops_its_subscriptions(device: Any, poster: FakePoster, process: Presence) -> None:
    alice, _bob, _carol = device("alice"), device("bob"), device("carol")
    alice.send(to="bob")
    alice.send(to="carol")
    subscribe(alice, ["bob", "carol"])
    assert subscription_rows() == {("bob", alice.connection_id), ("carol", alice.connection_id)}

    alice.disconnect()
    process()

    assert subscription_rows() == set()


def test_gone_watcher_is_dropped_when_the_push_answers_410(device: Any, poster: FakePoster, process: Presence) -> None:
    alice, bob, _carol = device("alice"), device("bob"), device("carol")
    alice.send(to="bob")
    alice.send(to="carol")
    process()
    subscribe(alice, ["bob", "carol"])
    alice.vanish(poster)  # alice's socket vanished without $disconnect

    # bob's change is pushed to alice: 410 -> her record and this subscription row are removed
    bob.disconnect()
    process()
    assert connection_record("alice", alice.connection_id) is None
    assert subscription_rows() == {("carol", alice.connection_id)}
    # ... and her connection's REMOVE drops the rest
    process()
    assert subscription_rows() == set()
