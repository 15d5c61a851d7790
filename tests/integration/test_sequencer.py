"""Sends into a busy conversation: one try, then the conversation's FIFO queue and its one writer
(chat/messages.py, chat/sequencer.py). Gapless, each clientMsgId once, every send answered, and the
work per send independent of how many send at once."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest

from chat import clock, messages, sequencer
from chat.faults import Crash
from chat.store import conversations, queues, writes
from chat.store import messages as message_store
from chat.topology import QUEUES
from tests.integration.conftest import Device, run_sequencer
from tests.integration.support import FakePoster, connection_record

SENDS = next(q for q in QUEUES if q.logical_name == "Sends")


def send_frame(conversation_id: str, client_msg_id: str | None = None, text: str = "hi") -> dict[str, Any]:
    return {
        "action": "send",
        "conversationId": conversation_id,
        "clientMsgId": client_msg_id or uuid.uuid4().hex,
        "body": {"text": text},
    }


def stored(conversation_id: str) -> list[tuple[int, str, str]]:
    """(seq, sender, clientMsgId) of every stored message, in seq order."""
    return [(m.seq, m.sender_id, m.client_msg_id) for m in message_store.messages_after(conversation_id, 0, limit=500)]


def queued_count() -> int:
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=os.environ[SENDS.env],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many transactions were tried and sends queued, by anyone."""
    counts: Counter[str] = Counter()
    transact, enqueue = writes.transact, queues.enqueue

    def counting_transact(items: Any) -> None:
        counts["transactions"] += 1
        transact(items)

    def counting_enqueue(*args: Any, **kwargs: Any) -> None:
        counts["queued"] += 1
        enqueue(*args, **kwargs)

    monkeypatch.setattr(writes, "transact", counting_transact)
    monkeypatch.setattr("chat.store.messages.transact", counting_transact)
    monkeypatch.setattr(queues, "enqueue", counting_enqueue)
    return counts


@pytest.fixture
def group(device: Any) -> tuple[str, list[Device]]:
    """A group of 10 members, each with its own device, and one message in it."""
    members = [device(f"user{i}") for i in range(10)]
    created = members[0].do({"action": "createGroup", "name": "busy", "members": [m.user_id for m in members[1:]]})
    assert created is not None
    conversation_id = created["conversationId"]
    members[0].send("first", conversationId=conversation_id)
    return conversation_id, members


def test_concurrent_sends_each_try_once_and_the_sequencer_stores_the_rest_gapless(
    group: tuple[str, list[Device]], counted: Counter[str]
) -> None:
    conversation_id, members = group
    counted.clear()
    # Given 20 sends into one conversation at the same moment (two per member)
    frames = [send_frame(conversation_id, f"{m.user_id}-{i}") for i in range(2) for m in members]
    replies: dict[str, dict[str, Any] | None] = {}
    start = threading.Barrier(len(frames))

    def one(member: Device, frame: dict[str, Any]) -> None:
        start.wait()
        replies[frame["clientMsgId"]] = member.call("send", frame)

    threads = [threading.Thread(target=one, args=(members[i % 10], f)) for i, f in enumerate(frames)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered_at_once = {k for k, reply in replies.items() if reply is not None}
    # Then no send tried more than once: the losers were queued, not retried
    assert counted["transactions"] == len(frames), "each send makes exactly one attempt of its own"
    assert counted["queued"] == len(frames) - len(answered_at_once) > 0

    # When the sequencer runs
    run_sequencer()

    # Then every send is answered `sent` on its socket (at once or by the sequencer), each stored once, gapless
    for member in members:
        for i in range(2):
            client_msg_id = f"{member.user_id}-{i}"
            answer = replies[client_msg_id] or member.answer_to(client_msg_id)
            assert answer is not None and answer["type"] == "sent", (client_msg_id, answer)
    rows = stored(conversation_id)
    assert [seq for seq, _, _ in rows] == list(range(1, 22))
    assert sorted(cid for _, _, cid in rows[1:]) == sorted(f["clientMsgId"] for f in frames)
    # And the sequencer stored each queued send with one transaction: never more than 2 per send in all
    assert counted["transactions"] <= 2 * len(frames)


def test_a_busy_conversation_sends_straight_to_the_queue(
    group: tuple[str, list[Device]], counted: Counter[str]
) -> None:
    conversation_id, members = group
    # Given the sequencer stored a send a moment ago (the conversation is marked busy)
    assert members[1].call("send", send_frame(conversation_id, "queued")) is not None  # not busy yet: stored at once
    stored_by_sequencer = messages.QueuedSend(
        conversationId=conversation_id,
        senderId=members[2].user_id,
        senderDeviceId=members[2].device_id,
        connectionId=members[2].connection_id,
        clientMsgId="by-sequencer",
        text="hi",
    )
    sequencer.sequence_queued(stored_by_sequencer.model_dump_json())
    conversation = conversations.get_conversation(conversation_id)
    assert conversation is not None and conversation.busy_until > 0
    counted.clear()

    # When a member sends
    reply = members[3].call("send", send_frame(conversation_id, "while-busy"))

    # Then it does not race the sequencer: queued without a transaction of its own, answered by the sequencer
    assert reply is None
    assert (counted["transactions"], counted["queued"]) == (0, 1)
    run_sequencer()
    answer = members[3].answer_to("while-busy")
    assert answer is not None and (answer["type"], answer["seq"]) == ("sent", 4)
    assert [cid for _, _, cid in stored(conversation_id)][1:] == ["queued", "by-sequencer", "while-busy"]


def test_a_sequencer_that_dies_after_storing_answers_on_redelivery_and_keeps_the_order(
    group: tuple[str, list[Device]], inject_faults: Any
) -> None:
    conversation_id, members = group
    # Given two sends queued in one conversation (a failed message is visible again at once here)
    boto3.client("sqs", region_name="us-east-1").set_queue_attributes(
        QueueUrl=os.environ[SENDS.env], Attributes={"VisibilityTimeout": "0"}
    )
    for member, client_msg_id in ((members[1], "a"), (members[2], "b")):
        queued = messages.QueuedSend(
            conversationId=conversation_id,
            senderId=member.user_id,
            senderDeviceId=member.device_id,
            connectionId=member.connection_id,
            clientMsgId=client_msg_id,
            text=client_msg_id,
        )
        queues.enqueue(
            "Sends", conversation_id, f"{conversation_id}/{member.user_id}/{client_msg_id}", queued.model_dump_json()
        )
    inject_faults("send.crash_after_store=1x1")

    # When the sequencer dies after storing the first, before answering it
    with pytest.raises(Crash):
        run_sequencer()
    assert [cid for _, _, cid in stored(conversation_id)][1:] == ["a"]
    assert members[1].answer_to("a") is None and queued_count() == 2  # both wait for the retry

    # Then the redelivery answers the stored seq without storing it again, then stores the next in order
    run_sequencer()
    assert [(seq, cid) for seq, _, cid in stored(conversation_id)][1:] == [(2, "a"), (3, "b")]
    assert (members[1].answer_to("a") or {}).get("seq") == 2
    assert (members[2].answer_to("b") or {}).get("seq") == 3
    assert queued_count() == 0


def test_a_queued_send_of_someone_removed_meanwhile_is_refused_on_their_socket(
    group: tuple[str, list[Device]], poster: FakePoster
) -> None:
    conversation_id, members = group
    owner, leaver = members[0], members[5]
    queued = messages.QueuedSend(
        conversationId=conversation_id,
        senderId=leaver.user_id,
        senderDeviceId=leaver.device_id,
        connectionId=leaver.connection_id,
        clientMsgId="late",
        text="late",
        requestId="r-1",
    )
    queues.enqueue("Sends", conversation_id, "late", queued.model_dump_json())
    # Given the sender is removed before the sequencer gets to its send
    removed = owner.do({"action": "removeMembers", "conversationId": conversation_id, "userIds": [leaver.user_id]})
    assert removed is not None and leaver.user_id not in removed["members"]

    run_sequencer()

    # Then its socket gets the error the send route would have answered, and nothing is stored
    answer = leaver.answer_to("late")
    assert answer is not None
    assert (answer["type"], answer["code"], answer["action"], answer["requestId"]) == (
        "error",
        "forbidden",
        "send",
        "r-1",
    )
    assert [cid for _, _, cid in stored(conversation_id)][1:] == []
    assert queued_count() == 0


def test_a_resend_of_a_queued_send_is_stored_once(group: tuple[str, list[Device]]) -> None:
    conversation_id, members = group
    sender = members[4]
    # Given the conversation is busy (the sender's send is queued, not tried)
    conversations.ConversationModel(conversation_id=conversation_id).update(
        actions=[conversations.ConversationModel.busy_until.set(clock.epoch_s() + 3600)]
    )
    frame = send_frame(conversation_id, "twice")
    assert sender.call("send", frame) is None

    # When the client resends it before it is answered, and again after
    assert sender.call("send", frame) is None  # SQS drops the copy (same deduplication id)
    assert queued_count() == 1
    run_sequencer()
    again = sender.call("send", frame)

    # Then it is stored once, and every answer names the same seq
    assert [cid for _, _, cid in stored(conversation_id)][1:] == ["twice"]
    assert (sender.answer_to("twice") or {}).get("seq") == 2
    assert again is not None and (again["type"], again["seq"]) == ("sent", 2)


def test_a_queued_send_whose_socket_closed_meanwhile_is_stored_and_the_socket_forgotten(
    group: tuple[str, list[Device]], poster: FakePoster
) -> None:
    conversation_id, members = group
    sender = members[6]
    queued = messages.QueuedSend(
        conversationId=conversation_id,
        senderId=sender.user_id,
        senderDeviceId=sender.device_id,
        connectionId=sender.connection_id,
        clientMsgId="orphan",
        text="orphan",
    )
    queues.enqueue("Sends", conversation_id, "orphan", queued.model_dump_json())
    # Given the sender's socket is gone without $disconnect before the sequencer answers (410)
    sender.vanish(poster)

    run_sequencer()

    # Then the message is stored all the same (the client's resend is answered from its record), the
    # queue is empty, and the dead socket's record is removed as any push removes it
    assert [cid for _, _, cid in stored(conversation_id)][1:] == ["orphan"]
    assert queued_count() == 0
    assert connection_record(sender.user_id, sender.connection_id) is None
    resent = Device(sender.user_id, "laptop").connect().call("send", send_frame(conversation_id, "orphan"))
    assert resent is not None and (resent["type"], resent["seq"]) == ("sent", 2)
