"""One Messages stream batch holding several conversations, through the real fanout function: the
conversations go out side by side, each in seq order, and a failure holds back its conversation
only, while Lambda's re-delivery brings back everything from the failure on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from chat import push
from local.streams import StreamPoller, StreamReader
from tests.integration.support import FakePoster, invoke

PEERS = {"a": "bob", "b": "carol", "c": "dave"}  # conversation -> alice's peer in it


class ScriptedPoster(FakePoster):
    """A FakePoster that runs `before(conversation, seq)` before each post of a message frame."""

    def __init__(self) -> None:
        super().__init__()
        self.before: Callable[[str, int], None] = lambda conversation, seq: None
        self.conversation_of: dict[str, str] = {}  # conversationId -> "a" / "b" / "c"

    def post(self, connection_id: str, data: bytes) -> None:
        frame = json.loads(data)
        if frame.get("type") == "message":
            self.before(self.conversation_of[frame["conversationId"]], frame["seq"])
        super().post(connection_id, data)


@pytest.fixture
def scripted(device: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[ScriptedPoster, dict[str, Any]]:
    """alice in three direct chats (a: bob, b: carol, c: dave; the peers on two devices each), and
    the poster every push goes through."""
    poster = ScriptedPoster()
    monkeypatch.setattr(push, "default_poster", lambda: poster)
    monkeypatch.setattr(push, "THROTTLE_BASE_DELAY_S", 0.001)
    alice = device("alice")
    devices = {name: [device(peer, "phone"), device(peer, "laptop")] for name, peer in PEERS.items()}
    ids = {name: alice.send("0", to=peer)["conversationId"] for name, peer in PEERS.items()}
    poster.conversation_of = {conversation_id: name for name, conversation_id in ids.items()}
    return poster, {"alice": alice, "devices": devices, "ids": ids}


def send_interleaved(alice: Any, ids: dict[str, str], count: int) -> None:
    """seq 2..count+1 of each conversation, taking turns: a#2, b#2, c#2, a#3, ..."""
    for n in range(count):
        for name in PEERS:
            alice.send(f"{name} {n}", conversationId=ids[name])


def seqs(poster: FakePoster, devices: list[Any]) -> list[list[int]]:
    return [[f["seq"] for f in poster.of_type(d.connection_id, "message")] for d in devices]


def position(records: list[dict[str, Any]], conversation_id: str, seq: int) -> int:
    [found] = [
        i
        for i, r in enumerate(records)
        if r["dynamodb"]["Keys"]["conversationId"]["S"] == conversation_id
        and r["dynamodb"]["Keys"]["seq"]["N"] == str(seq)
    ]
    return found


def redelivered(records: list[dict[str, Any]], result: dict[str, Any]) -> list[dict[str, Any]]:
    """What Lambda invokes the function with next: the batch from the lowest reported sequence number
    on (the local poller's rule, tested in tests/local/test_streams.py)."""
    first = StreamPoller._first_failure(records, result)
    assert first is not None
    return records[first:]


def test_conversations_of_a_batch_go_out_side_by_side_each_in_seq_order(
    scripted: tuple[ScriptedPoster, dict[str, Any]], messages_stream: StreamReader
) -> None:
    poster, world = scripted
    send_interleaved(world["alice"], world["ids"], 4)  # seq 2..5 of each
    records = messages_stream.records()
    assert len(records) == 15
    b_went_out = threading.Event()

    def before(conversation: str, seq: int) -> None:
        if conversation == "b":
            b_went_out.set()
        if conversation == "a" and seq == 1 and not b_went_out.wait(10):
            # one conversation after another, b would wait for all of a
            raise RuntimeError("a#1 went out alone")
        if seq % 2:
            time.sleep(0.01)  # odd seqs slower: an even seq running beside them would overtake

    poster.before = before
    assert invoke("fanout", {"Records": records}) == {"batchItemFailures": []}

    for name in PEERS:
        assert seqs(poster, world["devices"][name]) == [[1, 2, 3, 4, 5]] * 2


def test_a_failure_holds_back_its_conversation_only_and_lambda_brings_back_the_rest_of_the_batch(
    scripted: tuple[ScriptedPoster, dict[str, Any]], messages_stream: StreamReader
) -> None:
    poster, world = scripted
    ids, devices = world["ids"], world["devices"]
    send_interleaved(world["alice"], ids, 2)
    records = messages_stream.records()  # a#1 b#1 c#1 a#2 b#2 c#2 a#3 b#3 c#3

    # Given a#2 cannot be pushed (throttled on every try)
    def throttle_a2(conversation: str, seq: int) -> None:
        if (conversation, seq) == ("a", 2):
            raise push.Throttled("a#2")

    poster.before = throttle_a2
    result = invoke("fanout", {"Records": records})

    # Then a#2 alone is reported: Lambda resumes there whatever else is listed
    a2 = position(records, ids["a"], 2)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[a2]["dynamodb"]["SequenceNumber"]}]}
    # a#3 waited behind a#2; b and c went out whole
    assert seqs(poster, devices["a"]) == [[1]] * 2
    assert seqs(poster, devices["b"]) == seqs(poster, devices["c"]) == [[1, 2, 3]] * 2

    # When Lambda re-delivers the batch from a#2 and bob is reachable again
    poster.before = lambda conversation, seq: None
    again = redelivered(records, result)
    assert again == records[a2:]
    assert invoke("fanout", {"Records": again}) == {"batchItemFailures": []}

    # Then a is whole and in order; b#2, b#3, c#2, c#3 (after a#2 in the batch) went out twice, which
    # devices drop by (conversationId, seq); nothing before a#2 was posted again
    assert seqs(poster, devices["a"]) == [[1, 2, 3]] * 2
    assert seqs(poster, devices["b"]) == seqs(poster, devices["c"]) == [[1, 2, 3, 2, 3]] * 2


def test_with_failures_in_two_conversations_the_earliest_is_reported(
    scripted: tuple[ScriptedPoster, dict[str, Any]], messages_stream: StreamReader
) -> None:
    poster, world = scripted
    ids, devices = world["ids"], world["devices"]
    send_interleaved(world["alice"], ids, 2)
    records = messages_stream.records()

    def throttle(conversation: str, seq: int) -> None:
        if (conversation, seq) in {("a", 3), ("b", 2)}:
            raise push.Throttled(f"{conversation}#{seq}")

    poster.before = throttle
    result = invoke("fanout", {"Records": records})

    b2 = position(records, ids["b"], 2)
    assert b2 < position(records, ids["a"], 3)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[b2]["dynamodb"]["SequenceNumber"]}]}
    assert seqs(poster, devices["a"]) == [[1, 2]] * 2
    assert seqs(poster, devices["b"]) == [[1]] * 2
    assert seqs(poster, devices["c"]) == [[1, 2, 3]] * 2
