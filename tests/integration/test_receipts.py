"""Receipts: forward-only watermarks, their pushes (direct, own devices, group "*"), message info."""

from __future__ import annotations

from typing import Any

import pytest

from chat import receipts
from chat.store import conversations
from chat.store import members as member_store
from chat.store.models import ReceiptModel
from local.streams import StreamReader
from tests.integration.conftest import drain
from tests.integration.support import FakePoster


def receipt_log(conversation_id: str) -> list[tuple[str, str, int]]:
    return [(r.user_id, r.kind, int(r.seq)) for r in ReceiptModel.query(conversation_id)]


@pytest.fixture
def chat(device: Any) -> Any:
    """alice (phone) wrote 3 messages to bob (phone + laptop)."""
    alice, bob_phone, bob_laptop = device("alice"), device("bob", "phone"), device("bob", "laptop")
    conversation_id = alice.send("1", to="bob")["conversationId"]
    alice.send("2", conversationId=conversation_id)
    alice.send("3", conversationId=conversation_id)
    return alice, bob_phone, bob_laptop, conversation_id


def test_delivered_pushes_to_the_sender_and_the_ackers_other_devices(
    chat: Any, poster: FakePoster, receipts_stream: StreamReader
) -> None:
    alice, bob_phone, bob_laptop, conversation_id = chat
    drain(receipts_stream, "receipt_push")  # alice's own moves from sending
    poster.frames.clear()

    assert bob_phone.do({"action": "delivered", "conversationId": conversation_id, "seq": 3}) is None
    assert drain(receipts_stream, "receipt_push") == {"batchItemFailures": []}

    [frame] = poster.of_type(alice.connection_id, "receipt")
    assert frame == {
        "type": "receipt",
        "conversationId": conversation_id,
        "userId": "bob",
        "kind": "delivered",
        "seq": 3,
        "at": frame["at"],
    }
    assert poster.of_type(bob_laptop.connection_id, "receipt") == [frame]  # read state follows bob
    assert poster.of_type(bob_phone.connection_id, "receipt") == []  # the acking device knows


def test_watermarks_only_move_forward_and_a_non_move_stores_and_pushes_nothing(
    chat: Any, poster: FakePoster, receipts_stream: StreamReader
) -> None:
    alice, bob, _laptop, conversation_id = chat
    drain(receipts_stream, "receipt_push")
    poster.frames.clear()
    bob.do({"action": "read", "conversationId": conversation_id, "seq": 2})
    before = receipt_log(conversation_id)

    # A flood of acks at or below the watermark, as a client acking one by one might send
    for seq in (1, 2, 1, 2):
        for action in ("delivered", "read"):
            assert bob.do({"action": action, "conversationId": conversation_id, "seq": seq}) is None

    assert receipt_log(conversation_id) == before
    drain(receipts_stream, "receipt_push")
    assert [(f["kind"], f["seq"]) for f in poster.of_type(alice.connection_id, "receipt")] == [("read", 2)]
    member = member_store.get_member(conversation_id, "bob")
    assert member is not None and (member.delivered_seq, member.read_seq) == (2, 2)  # read implies delivered


def test_read_implies_delivered_but_delivered_does_not_imply_read(chat: Any) -> None:
    _alice, bob, _laptop, conversation_id = chat
    bob.do({"action": "delivered", "conversationId": conversation_id, "seq": 3})
    bob.do({"action": "read", "conversationId": conversation_id, "seq": 1})
    member = member_store.get_member(conversation_id, "bob")
    assert member is not None and (member.delivered_seq, member.read_seq) == (3, 1)


def test_sending_moves_the_senders_own_watermarks(chat: Any) -> None:
    _alice, bob, _laptop, conversation_id = chat
    bob.send("reply", conversationId=conversation_id)
    member = member_store.get_member(conversation_id, "bob")
    assert member is not None and (member.delivered_seq, member.read_seq) == (4, 4)


@pytest.mark.parametrize("action", ["delivered", "read", "receipts"])
def test_seq_beyond_the_last_message_is_bad_request(chat: Any, action: str) -> None:
    _alice, bob, _laptop, conversation_id = chat
    reply = bob.do({"action": action, "conversationId": conversation_id, "seq": 4, "requestId": "r"})
    assert reply is not None and (reply["code"], reply["requestId"]) == ("bad_request", "r")
    member = member_store.get_member(conversation_id, "bob")
    assert member is not None and member.delivered_seq == 0


@pytest.mark.parametrize(
    "frame",
    [
        {"seq": 0},
        {"seq": "1"},
        {"seq": 1.5},
        {"seq": True},
        {"conversationId": 5},
        {"extra": 1},
    ],
)
def test_malformed_acks_are_bad_request(chat: Any, frame: dict[str, Any]) -> None:
    _alice, bob, _laptop, conversation_id = chat
    reply = bob.do({"action": "read", "conversationId": conversation_id, "seq": 1, **frame})
    assert reply is not None and reply["code"] == "bad_request"


def test_message_info_lists_each_recipient(chat: Any, device: Any) -> None:
    alice, bob, _laptop, conversation_id = chat
    bob.do({"action": "delivered", "conversationId": conversation_id, "seq": 2})
    bob.do({"action": "read", "conversationId": conversation_id, "seq": 1})

    info = {seq: alice.do({"action": "receipts", "conversationId": conversation_id, "seq": seq}) for seq in (1, 2, 3)}

    [one] = info[1]["members"]  # type: ignore[index]
    assert one["userId"] == "bob" and one["deliveredAt"] and one["readAt"]
    [two] = info[2]["members"]  # type: ignore[index]
    assert two["deliveredAt"] and two["readAt"] is None
    assert info[3]["members"] == [{"userId": "bob", "deliveredAt": None, "readAt": None}]  # type: ignore[index]


class TestGroupWatermark:
    @pytest.fixture
    def group(self, device: Any, poster: FakePoster, receipts_stream: StreamReader) -> Any:
        ann, ben, cat = device("ann"), device("ben"), device("cat")
        created = ann.do({"action": "createGroup", "name": "trio", "members": ["ben", "cat"]})
        assert created is not None
        conversation_id = created["conversationId"]
        ann.send("hello all", conversationId=conversation_id)
        drain(receipts_stream, "receipt_push")
        poster.frames.clear()
        return ann, ben, cat, conversation_id

    def star(self, poster: FakePoster, connection_id: str) -> list[tuple[str, int]]:
        return [(f["kind"], f["seq"]) for f in poster.of_type(connection_id, "receipt") if f["userId"] == "*"]

    def test_all_members_watermark_moves_only_when_the_last_member_moves(
        self, group: Any, poster: FakePoster, receipts_stream: StreamReader
    ) -> None:
        ann, ben, cat, conversation_id = group

        ben.do({"action": "read", "conversationId": conversation_id, "seq": 1})
        drain(receipts_stream, "receipt_push")
        assert self.star(poster, ann.connection_id) == []
        assert poster.of_type(ann.connection_id, "receipt") == []  # no per-member pushes in groups

        cat.do({"action": "delivered", "conversationId": conversation_id, "seq": 1})
        drain(receipts_stream, "receipt_push")
        drain(receipts_stream, "receipt_push")  # the "*" move is itself a logged receipt
        assert self.star(poster, ann.connection_id) == [("delivered", 1)]

        cat.do({"action": "read", "conversationId": conversation_id, "seq": 1})
        drain(receipts_stream, "receipt_push")
        drain(receipts_stream, "receipt_push")
        for member in (ann, ben, cat):
            assert self.star(poster, member.connection_id) == [("delivered", 1), ("read", 1)]

    def test_acks_above_the_minimum_do_not_read_the_member_rows(
        self, group: Any, receipts_stream: StreamReader, monkeypatch: Any
    ) -> None:
        ann, ben, cat, conversation_id = group
        recomputed: list[str] = []
        original = receipts.recompute_group_minimum
        monkeypatch.setattr(
            receipts,
            "recompute_group_minimum",
            lambda *a: recomputed.append(a[1]) or original(*a),  # type: ignore[func-returns-value]
        )
        for seq in (2, 3, 4):
            ann.send(str(seq), conversationId=conversation_id)
        ben.do({"action": "read", "conversationId": conversation_id, "seq": 4})
        drain(receipts_stream, "receipt_push")
        assert recomputed == []  # cat still holds the minimum: no recomputation

        cat.do({"action": "read", "conversationId": conversation_id, "seq": 2})
        drain(receipts_stream, "receipt_push")
        assert sorted(recomputed) == ["delivered", "read"]  # once per kind, when cat (the last one) moved
        conversation = conversations.get_conversation(conversation_id)
        assert conversation is not None and (conversation.all_delivered, conversation.all_read) == (2, 2)
        assert conversation.at_min_read == frozenset({"cat"})

    def test_a_departing_laggard_releases_the_minimum(
        self, group: Any, poster: FakePoster, receipts_stream: StreamReader
    ) -> None:
        ann, ben, cat, conversation_id = group
        ben.do({"action": "read", "conversationId": conversation_id, "seq": 1})
        drain(receipts_stream, "receipt_push")

        cat.do({"action": "leaveGroup", "conversationId": conversation_id})
        drain(receipts_stream, "receipt_push")

        conversation = conversations.get_conversation(conversation_id)
        assert conversation is not None and conversation.all_read == 1
        assert self.star(poster, ann.connection_id) == [("delivered", 1), ("read", 1)]


def test_a_group_members_ack_reads_no_member_rows_when_the_minimum_holds(
    device: Any, receipts_stream: StreamReader, monkeypatch: Any
) -> None:
    ann, ben, _cat = device("ann"), device("ben"), device("cat")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    for n in range(3):
        ann.send(str(n), conversationId=group)
    ben.do({"action": "read", "conversationId": group, "seq": 1})
    drain(receipts_stream, "receipt_push")  # cat holds the minimum from here on
    queried: list[str] = []
    original = member_store.list_members
    monkeypatch.setattr(member_store, "list_members", lambda cid, **kw: queried.append(cid) or original(cid, **kw))  # type: ignore[func-returns-value]

    ben.do({"action": "read", "conversationId": group, "seq": 3})
    assert drain(receipts_stream, "receipt_push") == {"batchItemFailures": []}

    assert queried == []
