"""Fan-out from the Messages stream, driven with the records moto's stream really produced."""

from __future__ import annotations

import threading
from typing import Any

from chat import push
from chat.store import connections, users
from local.streams import StreamReader
from tests.integration.conftest import run_fanout
from tests.integration.support import FakePoster, invoke


def test_message_reaches_every_device_but_the_sending_one(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    # Given alice on two devices and bob on two devices
    alice_phone, alice_laptop = device("alice", "phone"), device("alice", "laptop")
    bob_phone, bob_laptop = device("bob", "phone"), device("bob", "laptop")

    # When alice sends from her phone and the stream is processed
    sent = alice_phone.send("hello bob", client_msg_id="m-1", to="bob")
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    # Then bob's devices and alice's laptop get the same message frame; the phone got `sent`
    expected = {
        "type": "message",
        "conversationId": sent["conversationId"],
        "seq": 1,
        "senderId": "alice",
        "senderDeviceId": "phone",
        "clientMsgId": "m-1",
        "body": {"text": "hello bob"},
        "sentAt": sent["sentAt"],
    }
    for target in (bob_phone, bob_laptop, alice_laptop):
        assert poster.of_type(target.connection_id, "message") == [expected]
    assert poster.frames[alice_phone.connection_id] == []


def test_messages_arrive_in_seq_order(device: Any, poster: FakePoster, messages_stream: StreamReader) -> None:
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("0", to="bob")["conversationId"]
    for i in range(1, 8):
        (alice if i % 2 else bob).send(str(i), conversationId=conversation_id)

    run_fanout(messages_stream)

    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [
        1,
        2,
        4,
        6,
        8,
    ]  # his own sends only go to his other devices
    laptop_view = device("bob", "laptop")  # connected late: gets nothing live for the past
    assert poster.of_type(laptop_view.connection_id, "message") == []


def test_gone_connection_is_removed_and_the_rest_still_delivered(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    alice, bob_phone, bob_old = device("alice"), device("bob", "phone"), device("bob", "old-tablet")
    bob_old.vanish(poster)

    alice.send("hi", to="bob")
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    assert len(poster.of_type(bob_phone.connection_id, "message")) == 1
    assert [c.connection_id for c in connections.live_connections("bob")] == [bob_phone.connection_id]
    assert [e.connection_id for e in users.endpoints_of(["bob"])] == [bob_phone.connection_id]


def test_a_listed_connection_whose_record_expired_is_dropped_on_its_410(
    device: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    from chat.store.models import ConnectionModel

    alice, bob_ghost = device("alice"), device("bob", "ghost")
    ConnectionModel.get("bob", bob_ghost.connection_id).delete()  # as DynamoDB TTL would, no $disconnect
    bob_ghost.vanish(poster)

    alice.send("anyone there?", to="bob")
    assert run_fanout(messages_stream) == {"batchItemFailures": []}

    assert poster.attempts[bob_ghost.connection_id] == 1
    assert users.endpoints_of(["bob"]) == []


def test_throttled_post_is_retried_with_backoff(
    device: Any, poster: FakePoster, messages_stream: StreamReader, monkeypatch: Any
) -> None:
    monkeypatch.setattr(push, "THROTTLE_BASE_DELAY_S", 0.001)
    alice, bob = device("alice"), device("bob")
    poster.throttle[bob.connection_id] = push.THROTTLE_RETRIES  # succeeds on the last attempt

    alice.send("hi", to="bob")

    assert run_fanout(messages_stream) == {"batchItemFailures": []}
    assert poster.attempts[bob.connection_id] == push.THROTTLE_RETRIES + 1
    assert len(poster.of_type(bob.connection_id, "message")) == 1


def test_a_still_throttled_record_is_reported_and_the_later_ones_of_its_conversation_wait(
    device: Any, poster: FakePoster, messages_stream: StreamReader, monkeypatch: Any
) -> None:
    monkeypatch.setattr(push, "THROTTLE_BASE_DELAY_S", 0.001)
    alice, bob = device("alice"), device("bob")
    conversation_id = alice.send("1", to="bob")["conversationId"]
    alice.send("2", conversationId=conversation_id)
    alice.send("3", conversationId=conversation_id)
    records = messages_stream.records()
    assert len(records) == 3

    # Given seq 2 cannot reach bob (throttled on every try)
    poster.throttle[bob.connection_id] = 0
    original_post = poster.post

    def throttle_seq_2(connection_id: str, data: bytes) -> None:
        if b'"seq":2' in data:
            raise push.Throttled(connection_id)
        original_post(connection_id, data)

    monkeypatch.setattr(poster, "post", throttle_seq_2)
    result = invoke("fanout", {"Records": records})

    # Then seq 2 is the failure reported: Lambda resumes there, so seq 3 comes back with it (it was
    # held back: 3 must not overtake 2); seq 1 went out
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failed == [records[1]["dynamodb"]["SequenceNumber"]]
    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [1]

    # When Lambda retries from the first failure and bob is reachable again
    monkeypatch.setattr(poster, "post", original_post)
    assert invoke("fanout", {"Records": records[1:]}) == {"batchItemFailures": []}
    assert [f["seq"] for f in poster.of_type(bob.connection_id, "message")] == [1, 2, 3]


class ConcurrencyProbe(FakePoster):
    def __init__(self, delay_s: float) -> None:
        super().__init__(delay_s)
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            super().post(connection_id, data)
        finally:
            with self._count_lock:
                self.in_flight -= 1


def test_posts_for_one_message_go_out_concurrently_with_a_bound(device: Any, monkeypatch: Any) -> None:
    probe = ConcurrencyProbe(delay_s=0.02)
    monkeypatch.setattr(push, "default_poster", lambda: probe)
    alice = device("alice")
    # 150 devices: 15 members of a group with 10 each (the most a user may have open)
    members = [f"member{m:02d}" for m in range(15)]
    devices = [device(member, f"d{i}") for member in members for i in range(10)]
    created = alice.do({"action": "createGroup", "name": "crowd", "members": members})
    assert created is not None
    reader = StreamReader.of_table("Messages")

    alice.send("to many devices", conversationId=created["conversationId"])
    assert run_fanout(reader) == {"batchItemFailures": []}

    assert all(len(probe.of_type(d.connection_id, "message")) == 1 for d in devices)
    assert 1 < probe.max_in_flight <= push.MAX_PARALLEL_POSTS
