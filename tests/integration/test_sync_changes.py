"""sync with a token (`since`): only what changed is read and listed, and nothing that changed is missed
(chat/change_log.py, chat/sync.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chat import change_log, clock
from chat import groups as groups_module
from chat import sync as sync_module
from chat.config import table_name
from chat.store import groups as group_store
from chat.store import members as member_store
from chat.topology import TABLES
from local.capacity_counter import CapacityCounter
from local.dynamodb_quirks import Quirks
from local.streams import StreamReader
from tests.integration.support import FakePoster, invoke

MINUTE_MS = 60_000


class Clock:
    """The change log's and the tokens' clock (chat.clock.epoch_ms), moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = clock.epoch_ms
        self.offset_ms = 0
        monkeypatch.setattr(clock, "epoch_ms", lambda: self.real() + self.offset_ms)

    def wait(self, ms: int = 10 * MINUTE_MS) -> None:
        """The device is away a while (longer than the log's margin)."""
        self.offset_ms += ms


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def counter() -> Iterator[CapacityCounter]:
    with CapacityCounter().installed() as counting:
        yield counting


@pytest.fixture
def settle(messages_stream: StreamReader, receipts_stream: StreamReader) -> Any:
    """Hands what the Messages and Receipts streams hold to fanout and receipt_push until both are quiet."""

    def run() -> None:
        while True:
            busy = False
            for reader in (messages_stream, receipts_stream):
                if records := reader.records():
                    busy = True
                    assert invoke(reader.stream.function, {"Records": records}) == {"batchItemFailures": []}
            if not busy:
                return

    return run


class Syncing:
    """One device's side of sync: its cursors and token, as a client keeps them."""

    def __init__(self, dev: Any, poster: FakePoster) -> None:
        self.dev = dev
        self.poster = poster
        self.cursors: dict[str, int] = {}
        self.token: str | None = ""
        self.messages: list[dict[str, Any]] = []

    def once(self, **extra: Any) -> dict[str, Any]:
        """One `sync`: its reply; the messages it sent are in `messages`, the cursors moved."""
        self.poster.frames[self.dev.connection_id].clear()
        frame: dict[str, Any] = {"action": "sync", "cursors": dict(self.cursors), "requestId": "s", **extra}
        if self.token is not None:
            frame["since"] = self.token
        reply = self.dev.do(frame)
        assert reply is not None and reply["type"] == "synced" and reply["requestId"] == "s", reply
        self.messages = self.poster.of_type(self.dev.connection_id, "message")
        for message in self.messages:
            conversation = message["conversationId"]
            self.cursors[conversation] = max(self.cursors.get(conversation, 0), message["seq"])
        for summary in reply["conversations"]:
            self.cursors.setdefault(summary["conversationId"], 0)
        if self.token is not None:
            self.token = reply["syncToken"]
        return reply

    def listed(self) -> list[str]:
        return [c["conversationId"] for c in self.once()["conversations"]]

    def to_the_end(self, pages: int = 30) -> list[dict[str, Any]]:
        """Syncs until `complete`: every page's summaries."""
        summaries: list[dict[str, Any]] = []
        for _ in range(pages):
            reply = self.once()
            summaries += reply["conversations"]
            if reply["complete"]:
                return summaries
        raise AssertionError(f"not complete after {pages} pages")


def log_of(user_id: str) -> list[str]:
    """The conversations of the user's change log entries, oldest first (what is stored)."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    items = client.query(
        TableName=table_name(TABLES["Changes"]),
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
        ConsistentRead=True,
    )["Items"]
    return [item["conversationId"]["S"] for item in items]


def watermarks(summary: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(r["userId"], r["kind"]): r["seq"] for r in summary["receipts"]}


@pytest.fixture
def bob_in_many(device: Any, settle: Any, later: Clock) -> Any:
    """bob in `n` direct chats and a group of 3, every message of each fanned out, a while ago."""

    def make(n: int) -> tuple[Any, dict[str, Any], str]:
        bob = device("bob")
        others = {}
        for i in range(n):
            other = device(f"u{i}")
            conversation = other.send(f"hi {i}", to="bob")["conversationId"]
            others[conversation] = other
        group = bob.do({"action": "createGroup", "name": "three", "members": ["u0", "u1"]})
        assert group is not None
        bob.send("hello all", conversationId=group["conversationId"])
        settle()
        later.wait()
        return bob, others, group["conversationId"]

    return make


# ---- what a sync reads ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 80])
def test_a_sync_where_nothing_changed_reads_one_query_and_the_block_list_whatever_the_number_of_conversations(
    n: int, bob_in_many: Any, poster: FakePoster, later: Clock, counter: CapacityCounter
) -> None:
    bob, _others, _group = bob_in_many(n)
    phone = Syncing(bob, poster)
    assert len(phone.to_the_end()) == n + 1
    later.wait()  # the device comes back after a while

    counter.reset()
    reply = phone.once()

    assert (reply["conversations"], reply["complete"], phone.messages) == ([], True, [])
    cost = counter.of("sync")
    assert dict(cost.requests) == {"Query": 1, "GetItem": 1} and cost.read_units == 2 and cost.items_written == 0


def test_a_sync_after_changes_lists_and_reads_only_the_conversations_that_changed(
    bob_in_many: Any, poster: FakePoster, later: Clock, counter: CapacityCounter, settle: Any
) -> None:
    bob, others, group = bob_in_many(12)
    phone = Syncing(bob, poster)
    phone.to_the_end()
    later.wait()
    direct = next(iter(others))
    others[direct].send("news", conversationId=direct)
    others[direct].send("more news", conversationId=direct)
    others[direct].do({"action": "read", "conversationId": direct, "seq": 3})
    bob_group_member = next(o for o in others.values() if o.user_id == "u1")
    bob_group_member.send("group news", conversationId=group)
    settle()
    later.wait()

    counter.reset()
    reply = phone.once()

    assert sorted(c["conversationId"] for c in reply["conversations"]) == sorted([direct, group])
    assert [(m["conversationId"], m["seq"]) for m in phone.messages if m["conversationId"] == direct] == [
        (direct, 2),
        (direct, 3),
    ]
    assert [m["seq"] for m in phone.messages if m["conversationId"] == group] == [2]
    # Per conversation: its mark cleared, its members, itself, its new messages; plus the log and the
    # caller's block list.
    cost = counter.of("sync")
    assert dict(cost.requests) == {"Query": 1 + 2 * 2, "UpdateItem": 2, "GetItem": 2 + 1}
    assert cost.read_units <= 1 + 2 * 3 + 1


def test_a_sync_without_since_still_lists_every_conversation_and_hands_out_no_token(
    bob_in_many: Any, poster: FakePoster, later: Clock
) -> None:
    bob, others, group = bob_in_many(3)
    old_client = Syncing(bob, poster)
    old_client.token = None
    later.wait()

    reply = old_client.once()

    assert sorted(c["conversationId"] for c in reply["conversations"]) == sorted([*others, group])
    assert "syncToken" not in reply and reply["complete"] is True


# ---- every kind of change is listed -------------------------------------------------------------------


@pytest.fixture
def synced_pair(device: Any, poster: FakePoster, later: Clock, settle: Any) -> Any:
    """alice wrote bob 2 messages; later bob's phone and laptop each synced everything; then time passed."""
    alice, phone, laptop = device("alice"), device("bob", "phone"), device("bob", "laptop")
    direct = alice.send("1", to="bob")["conversationId"]
    alice.send("2", conversationId=direct)
    settle()
    later.wait()
    devices = Syncing(phone, poster), Syncing(laptop, poster)
    for syncing in devices:
        syncing.to_the_end()
    later.wait()
    return alice, devices, direct


@pytest.mark.parametrize("kind", ["delivered", "read"])
def test_the_other_users_watermark_is_listed(
    synced_pair: Any, poster: FakePoster, later: Clock, settle: Any, kind: str
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    hers = Syncing(alice, poster)
    hers.to_the_end()
    later.wait()
    assert hers.listed() == []
    later.wait()
    phone.dev.do({"action": kind, "conversationId": direct, "seq": 2})
    settle()
    later.wait()
    [summary] = hers.once()["conversations"]
    assert summary["conversationId"] == direct and watermarks(summary)[("bob", kind)] == 2


def test_a_read_on_another_device_is_listed(synced_pair: Any, later: Clock, settle: Any) -> None:
    _alice, (phone, laptop), direct = synced_pair
    laptop.dev.do({"action": "read", "conversationId": direct, "seq": 2})
    settle()
    later.wait()
    [summary] = phone.once()["conversations"]
    assert summary["conversationId"] == direct and watermarks(summary)[("bob", "read")] == 2
    assert phone.messages == []  # its cursor holds both


def test_group_changes_are_listed_to_members_the_newcomer_and_the_removed(
    device: Any, poster: FakePoster, later: Clock, settle: Any
) -> None:
    ann, ben, cat, dan = device("ann"), device("ben"), device("cat"), device("dan")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    ann.send("1", conversationId=group)
    settle()
    later.wait()
    syncing = {d.user_id: Syncing(d, poster) for d in (ann, ben, cat, dan)}
    for s in syncing.values():
        s.to_the_end()
    later.wait()

    ann.do({"action": "addMembers", "conversationId": group, "userIds": ["dan"]})
    ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    settle()
    later.wait()

    [for_ben] = syncing["ben"].once()["conversations"]
    assert for_ben["members"] == ["ann", "ben", "dan"]
    [for_dan] = syncing["dan"].once()["conversations"]
    assert (for_dan["conversationId"], for_dan["members"], for_dan["lastSeq"]) == (group, ["ann", "ben", "dan"], 1)
    assert syncing["dan"].messages == [] and for_dan["firstSeqSent"] is None  # nothing from before he joined
    [for_cat] = syncing["cat"].once()["conversations"]
    assert "members" not in for_cat and for_cat["lastSeq"] == 1

    # What happens in the group from now on reaches cat through no sync, and is not even logged for her.
    later.wait()
    ann.send("2", conversationId=group)
    ben.do({"action": "read", "conversationId": group, "seq": 2})
    dan.do({"action": "read", "conversationId": group, "seq": 2})
    settle()
    later.wait()
    entries_before = len(log_of("cat"))
    assert syncing["cat"].listed() == []
    assert len(log_of("cat")) == entries_before
    [for_ben] = syncing["ben"].once()["conversations"]
    assert watermarks(for_ben)[("*", "read")] == 2  # the all-members move reached the members


@pytest.fixture
def synced_group(device: Any, poster: FakePoster, later: Clock, settle: Any) -> Any:
    """ann, ben and cat in a group with 1 message; each one's phone, and ben's laptop, synced it all."""
    ann, ben, cat = device("ann"), device("ben"), device("cat")
    laptop = device("ben", "laptop")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    ann.send("1", conversationId=group)
    settle()
    later.wait()
    syncing = {name: Syncing(d, poster) for name, d in (("ann", ann), ("ben", ben), ("cat", cat), ("laptop", laptop))}
    for s in syncing.values():
        s.to_the_end()
    later.wait()
    return syncing, group


def test_a_removal_is_listed_to_the_removed(synced_group: Any, later: Clock, settle: Any) -> None:
    syncing, group = synced_group
    syncing["ann"].dev.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    settle()
    later.wait()
    [for_cat] = syncing["cat"].once()["conversations"]
    assert for_cat["conversationId"] == group and "members" not in for_cat and for_cat["lastSeq"] == 1


def test_a_member_leaving_is_listed_to_the_others_and_its_other_devices(
    synced_group: Any, later: Clock, settle: Any
) -> None:
    syncing, group = synced_group
    syncing["ben"].dev.do({"action": "leaveGroup", "conversationId": group})
    settle()
    later.wait()
    [for_ann] = syncing["ann"].once()["conversations"]
    assert for_ann["members"] == ["ann", "cat"]
    [for_laptop] = syncing["laptop"].once()["conversations"]
    assert for_laptop["conversationId"] == group and "members" not in for_laptop and for_laptop["lastSeq"] == 1
    assert syncing["ben"].listed() == [group]  # the phone that left had not synced since either

    # Former members see nothing after leaving: what follows lists the group to no device of ben's.
    syncing["ann"].dev.send("2", conversationId=group)
    syncing["cat"].dev.do({"action": "read", "conversationId": group, "seq": 2})
    settle()
    later.wait()
    assert syncing["laptop"].listed() == [] and syncing["ben"].listed() == []
    assert syncing["ann"].listed() == [group]


@pytest.mark.parametrize("kind", ["delivered", "read"])
def test_an_all_members_move_is_listed_to_a_member_who_did_nothing(
    synced_group: Any, later: Clock, settle: Any, kind: str
) -> None:
    syncing, group = synced_group
    syncing["ann"].dev.send("2", conversationId=group)
    settle()
    later.wait()
    syncing["ann"].to_the_end()  # ann has seen her message; only the others' acknowledgements are to come
    later.wait()
    # ben's own move is told to ben alone; cat's completes the group's, told to everyone as "*".
    syncing["ben"].dev.do({"action": kind, "conversationId": group, "seq": 2})
    settle()
    later.wait()
    assert syncing["ann"].listed() == []
    syncing["cat"].dev.do({"action": kind, "conversationId": group, "seq": 2})
    settle()
    later.wait()
    [for_ann] = syncing["ann"].once()["conversations"]
    assert watermarks(for_ann)[("*", kind)] == 2


def stops_after_storing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The groups function stops once the change is stored, before it announces anything (a time limit)."""

    def stopped(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("Task timed out")

    monkeypatch.setattr(groups_module, "_announce", stopped)


@pytest.mark.parametrize(
    "change",
    [
        {"action": "addMembers", "userIds": ["dan"]},
        {"action": "removeMembers", "userIds": ["cat"]},
    ],
)
def test_a_group_change_whose_function_stopped_after_storing_it_is_listed_all_the_same(
    synced_group: Any, device: Any, poster: FakePoster, later: Clock, monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    syncing, group = synced_group
    dan = Syncing(device("dan"), poster)
    dan.to_the_end()
    later.wait()
    stops_after_storing(monkeypatch)
    reply = syncing["ann"].dev.do({**change, "conversationId": group})
    assert reply is not None and reply["type"] == "error"
    later.wait()

    expected = ["ann", "ben", "cat", "dan"] if change["action"] == "addMembers" else ["ann", "ben"]
    for name in ("ben", "laptop", "dan" if change["action"] == "addMembers" else "cat"):
        device_sync = dan if name == "dan" else syncing[name]
        [summary] = device_sync.once()["conversations"]
        assert summary.get("members") == (expected if name != "cat" else None), name


def test_a_group_change_logged_ahead_is_listed_even_if_a_sync_read_the_group_before_it_landed(
    synced_group: Any, later: Clock, settle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncing, group = synced_group
    syncing["cat"].dev.send("2", conversationId=group)
    settle()  # ben's row is marked, by an entry from long before his next sync
    later.wait()
    store_removal = group_store.remove_members

    def a_sync_of_bens_just_before(*args: Any, **kwargs: Any) -> None:
        assert syncing["ben"].listed() == [group]  # clears his mark, reads the group as it still is
        store_removal(*args, **kwargs)

    monkeypatch.setattr(group_store, "remove_members", a_sync_of_bens_just_before)
    stops_after_storing(monkeypatch)
    syncing["ann"].dev.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    later.wait()

    [summary] = syncing["ben"].once()["conversations"]
    assert summary["members"] == ["ann", "ben"]


# ---- written once per reader -------------------------------------------------------------------------


def test_a_marked_member_is_not_logged_again_until_a_sync_reads_the_conversation(
    device: Any, poster: FakePoster, later: Clock, settle: Any, counter: CapacityCounter
) -> None:
    ann, ben, _cat = device("ann"), device("ben"), device("cat")
    group = ann.do({"action": "createGroup", "name": "g", "members": ["ben", "cat"]})["conversationId"]  # type: ignore[index]
    settle()
    assert [log_of(u) for u in ("ann", "ben", "cat")] == [[group]] * 3  # the creation, for everyone

    counter.reset()
    for n in range(3):
        ann.send(str(n), conversationId=group)
    settle()
    # Everyone is marked already: three messages, three fan-outs, nothing written to the log.
    assert counter.of("fanout").requests.get("PutItem", 0) == 0
    assert [log_of(u) for u in ("ann", "ben", "cat")] == [[group]] * 3

    later.wait()
    Syncing(ben, poster).to_the_end()  # ben's phone reads the group: his mark is cleared
    ann.send("3", conversationId=group)
    settle()
    assert counter.of("fanout").requests["PutItem"] == 1
    assert [log_of(u) for u in ("ann", "ben", "cat")] == [[group], [group, group], [group]]
    assert member_store.get_member(group, "ben").marked  # type: ignore[union-attr]


# ---- nothing is missed ---------------------------------------------------------------------------------


def test_an_entry_timed_before_a_sync_but_written_after_it_read_the_log_is_in_the_next_round(
    synced_pair: Any, later: Clock, settle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    phone.dev.do({"action": "read", "conversationId": direct, "seq": 2})
    settle()
    later.wait()
    assert phone.listed() == [direct]  # its mark is cleared now
    later.wait()
    alice.send("3", conversationId=direct)
    # The fan-out takes its time now, and its write lands only after the phone's sync read the log.
    fan_out_started = clock.epoch_ms()
    later.wait(30_000)
    assert phone.listed() == []
    later.offset_ms -= 30_000
    assert clock.epoch_ms() - fan_out_started < 1000
    settle()
    later.wait()

    assert phone.listed() == [direct]
    assert [m["seq"] for m in phone.messages] == [3]


def test_a_change_that_found_the_row_marked_is_read_by_the_sync_that_clears_the_mark(
    synced_pair: Any, later: Clock, settle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    alice.send("3", conversationId=direct)
    settle()  # logged for bob, whose row is marked now
    later.wait()
    unmark = member_store.unmark

    def a_message_just_before(conversation_id: str, user_id: str) -> bool:
        alice.send("4", conversationId=direct)
        settle()  # bob's row is marked: nothing logged for it
        return unmark(conversation_id, user_id)

    monkeypatch.setattr(member_store, "unmark", a_message_just_before)
    [summary] = phone.once()["conversations"]
    monkeypatch.setattr(member_store, "unmark", unmark)

    # The sync cleared the mark, then read: it tells of 4, which no entry of the log names.
    assert summary["lastSeq"] == 4
    assert {m["seq"] for m in phone.messages} == {3, 4}  # (4 was pushed live too)
    later.wait()
    assert phone.listed() == []


def test_a_change_after_a_sync_cleared_the_mark_is_logged_again(
    synced_pair: Any, later: Clock, settle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    alice.send("3", conversationId=direct)
    settle()
    later.wait()
    unmark = member_store.unmark

    def a_message_just_after(conversation_id: str, user_id: str) -> bool:
        cleared = unmark(conversation_id, user_id)
        alice.send("4", conversationId=direct)
        settle()  # bob's row is clear: logged, and marked again
        return cleared

    monkeypatch.setattr(member_store, "unmark", a_message_just_after)
    assert phone.listed() == [direct]
    monkeypatch.setattr(member_store, "unmark", unmark)
    assert member_store.get_member(direct, "bob").marked  # type: ignore[union-attr]
    later.wait()
    assert phone.listed() == [direct]  # listed again: it may have been read before 4


def test_a_device_that_syncs_before_the_fan_out_gets_the_message_pushed(
    synced_pair: Any, poster: FakePoster, later: Clock, settle: Any
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    alice.send("3", conversationId=direct)  # stored; its fan-out has not run
    assert phone.listed() == []  # the log does not hold it yet
    settle()
    assert [m["seq"] for m in poster.of_type(phone.dev.connection_id, "message")] == [3]
    later.wait()
    assert phone.listed() == [direct]


def test_a_conversation_joined_within_the_index_lag_is_listed_at_once(
    device: Any, poster: FakePoster, ddb_quirks: Quirks, settle: Any
) -> None:
    ann, ben = device("ann"), device("ben")
    ddb_quirks.set(index_lag_s=60)
    group = ann.do({"action": "createGroup", "name": "new", "members": ["ben"]})["conversationId"]  # type: ignore[index]
    settle()

    first = Syncing(ben, poster)
    assert [c["conversationId"] for c in first.to_the_end()] == [group]
    old_client = Syncing(device("ben", "old-phone"), poster)
    old_client.token = None
    assert old_client.listed() == [group]
    assert ddb_quirks.index_items_lagging >= 1


# ---- rounds and pages ------------------------------------------------------------------------------------


def test_a_first_sync_too_large_for_one_reply_pages_through_every_conversation(
    bob_in_many: Any, poster: FakePoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob, others, group = bob_in_many(12)
    monkeypatch.setattr(sync_module, "MAX_REPLY_BYTES", 2 * 1024)  # 3 or 4 summaries a page

    phone = Syncing(bob, poster)
    summaries = phone.to_the_end()

    assert sorted(s["conversationId"] for s in summaries) == sorted([*others, group])  # each once
    assert all(phone.cursors[c] == 1 for c in others)


def test_a_round_paged_by_the_message_budget_sends_everything_in_order(
    device: Any, poster: FakePoster, later: Clock, settle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol = device("alice"), device("bob"), device("carol")
    first = alice.send("a1", to="bob")["conversationId"]
    second = carol.send("c1", to="bob")["conversationId"]
    settle()
    phone = Syncing(bob, poster)
    phone.to_the_end()
    later.wait()
    for n in range(2, 6):
        alice.send(f"a{n}", conversationId=first)
        carol.send(f"c{n}", conversationId=second)
    settle()
    later.wait()
    monkeypatch.setattr(sync_module, "MAX_MESSAGES_PER_SYNC", 3)

    got: dict[str, list[int]] = {first: [], second: []}
    for _ in range(10):
        reply = phone.once()
        for message in phone.messages:
            got[message["conversationId"]].append(message["seq"])
        if reply["complete"]:
            break
    assert got == {first: [2, 3, 4, 5], second: [2, 3, 4, 5]}


def test_a_token_older_than_the_log_keeps_gets_every_conversation(
    bob_in_many: Any, poster: FakePoster, later: Clock
) -> None:
    bob, others, group = bob_in_many(3)
    phone = Syncing(bob, poster)
    phone.to_the_end()
    later.wait(change_log.CHANGES_KEPT_S * 1000)
    # DynamoDB's TTL removes the expired entries (moto never does): bob's conversations' among them.
    client = boto3.client("dynamodb", region_name="us-east-1")
    for item in client.scan(TableName=table_name(TABLES["Changes"]))["Items"]:
        if int(item["expiresAt"]["N"]) < clock.epoch_ms() // 1000:
            key = {"userId": item["userId"], "changeKey": item["changeKey"]}
            client.delete_item(TableName=table_name(TABLES["Changes"]), Key=key)
    assert log_of("bob") == []

    assert sorted(phone.listed()) == sorted([*others, group])


@pytest.mark.parametrize("since", ["nope", "1.", "1.2.3", "2.5", "1." + "9" * 300])
def test_a_since_the_server_did_not_give_is_bad_request_and_nothing_else(
    synced_pair: Any, poster: FakePoster, settle: Any, since: str
) -> None:
    alice, (phone, _laptop), direct = synced_pair
    alice.send("3", conversationId=direct)
    settle()
    bob_before = member_store.get_member(direct, "bob")
    assert bob_before is not None and bob_before.marked
    poster.frames[phone.dev.connection_id].clear()

    reply = phone.dev.do({"action": "sync", "cursors": {}, "since": since, "requestId": "s"})

    assert reply is not None and (reply["code"], reply["action"], reply["requestId"]) == ("bad_request", "sync", "s")
    assert poster.of_type(phone.dev.connection_id, "message") == []
    assert member_store.get_member(direct, "bob") == bob_before  # its mark not cleared


def test_a_mute_on_another_device_is_listed_with_it(synced_pair: Any, later: Clock, settle: Any) -> None:
    _alice, (phone, laptop), direct = synced_pair
    assert laptop.listed() == []
    later.wait()
    muted = phone.dev.do({"action": "mute", "conversationId": direct})
    assert muted is not None and muted["type"] == "muted"
    later.wait()
    [summary] = laptop.once()["conversations"]
    assert (summary["conversationId"], summary["muted"], summary["mutedUntil"]) == (direct, True, None)
