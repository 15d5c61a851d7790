"""Reply, edit, delete for everyone and reactions: who may, until when, who hears of it live, and how a
device that missed it catches up through `sync` (docs/PROTOCOL.md, "Reply, edit, delete for everyone,
reactions")."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chat import clock, message_changes
from chat.clock import iso
from chat.store.models import MessageChangeModel, MessageModel
from local.streams import StreamReader
from tests.integration.conftest import run_fanout
from tests.integration.support import FakePoster, table_contents

THUMBS = "\U0001f44d"
HEART = "\u2764\ufe0f"


@pytest.fixture
def club(device: Any) -> Any:
    """ann (phone and laptop), ben and cat in a group; ann sent seq 1 ("helo") and ben seq 2."""
    ann, laptop, ben, cat = device("ann"), device("ann", "laptop"), device("ben"), device("cat")
    group = ann.do({"action": "createGroup", "name": "club", "members": ["ben", "cat"]})["conversationId"]
    ann.send("helo", conversationId=group)
    ben.send("hi ann", conversationId=group)
    return ann, laptop, ben, cat, group


def frames_of(poster: FakePoster, dev: Any, frame_type: str) -> list[dict[str, Any]]:
    return poster.of_type(dev.connection_id, frame_type)


def history(dev: Any, group: str) -> dict[int, dict[str, Any]]:
    reply = dev.do({"action": "history", "conversationId": group})
    assert reply is not None and reply["type"] == "history", reply
    return {m["seq"]: m for m in reply["messages"]}


def edit(dev: Any, group: str, seq: int, text: str) -> dict[str, Any] | None:
    return dev.do({"action": "edit", "conversationId": group, "seq": seq, "body": {"text": text}})  # type: ignore[no-any-return]


def react(dev: Any, group: str, seq: int, emoji: str) -> dict[str, Any] | None:
    return dev.do({"action": "react", "conversationId": group, "seq": seq, "emoji": emoji})  # type: ignore[no-any-return]


def delete(dev: Any, group: str, seq: int) -> dict[str, Any] | None:
    return dev.do({"action": "delete", "conversationId": group, "seq": seq})  # type: ignore[no-any-return]


def sent_at(group: str, seq: int, seconds_ago: float) -> None:
    """Makes the stored message look sent that long ago."""
    MessageModel(conversation_id=group, seq=seq).update(
        actions=[MessageModel.sent_at.set(iso(time.time() - seconds_ago))]
    )


def stored_changes(group: str) -> int:
    return MessageChangeModel.count(group)


# ---- reply ------------------------------------------------------------------------------------------


def test_a_reply_names_the_message_it_answers_live_and_in_history(
    club: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, _laptop, ben, _cat, group = club
    sent = ben.do(
        {"action": "send", "conversationId": group, "clientMsgId": "r1", "body": {"text": "yes"}, "replyTo": 1}
    )
    assert sent is not None and sent["type"] == "sent" and sent["seq"] == 3
    run_fanout(messages_stream)

    [live] = [f for f in frames_of(poster, ann, "message") if f["seq"] == 3]
    assert live["replyTo"] == 1
    assert history(ann, group)[3]["replyTo"] == 1
    assert "replyTo" not in history(ann, group)[2]  # not a reply: the field is left out


@pytest.mark.parametrize("reply_to", [3, 99])
def test_a_reply_to_a_message_that_does_not_exist_is_refused_and_stores_nothing(club: Any, reply_to: int) -> None:
    _ann, _laptop, ben, _cat, group = club
    frame = {"action": "send", "conversationId": group, "clientMsgId": "r", "body": {"text": "?"}, "replyTo": reply_to}
    reply = ben.do(frame)
    assert reply is not None and reply["code"] == "bad_request" and reply["clientMsgId"] == "r"
    assert MessageModel.count(group) == 2


def test_a_member_added_later_cannot_reply_to_a_message_from_before_it_joined(club: Any, device: Any) -> None:
    ann, _laptop, _ben, _cat, group = club
    dan = device("dan")
    ann.do({"action": "addMembers", "conversationId": group, "userIds": ["dan"]})
    frame = {"action": "send", "conversationId": group, "clientMsgId": "r", "body": {"text": "?"}}
    assert dan.do({**frame, "replyTo": 2})["code"] == "bad_request"  # type: ignore[index]
    assert MessageModel.count(group) == 2
    ann.send("welcome", conversationId=group)
    assert dan.do({**frame, "replyTo": 3})["type"] == "sent"  # type: ignore[index]


# ---- edit -------------------------------------------------------------------------------------------


def test_an_edit_reaches_every_member_device_and_history_shows_the_text_and_edited_at(
    club: Any, poster: FakePoster
) -> None:
    ann, laptop, ben, cat, group = club

    reply = edit(ann, group, 1, "hello")

    assert reply is not None and reply["type"] == "messageChanged", reply
    assert (reply["kind"], reply["by"], reply["change"]) == ("edited", "ann", 1)
    assert reply["message"]["body"] == {"text": "hello"} and reply["message"]["editedAt"] == reply["at"]
    for other in (laptop, ben, cat):
        assert [f["message"]["body"]["text"] for f in frames_of(poster, other, "messageChanged")] == ["hello"]
    assert frames_of(poster, ann, "messageChanged") == []  # the acting device has its reply
    shown = history(ben, group)[1]
    assert shown["body"]["text"] == "hello" and shown["editedAt"] == reply["at"]
    assert "editedAt" not in history(ben, group)[2]


def test_only_its_sender_may_edit_a_message(club: Any, poster: FakePoster) -> None:
    _ann, _laptop, ben, cat, group = club
    assert edit(ben, group, 1, "mine now")["code"] == "forbidden"  # type: ignore[index]
    assert history(ben, group)[1]["body"]["text"] == "helo"
    assert stored_changes(group) == 0 and frames_of(poster, cat, "messageChanged") == []


def test_a_message_can_be_edited_for_15_minutes(club: Any) -> None:
    ann, _laptop, _ben, _cat, group = club
    sent_at(group, 1, 14 * 60)
    assert edit(ann, group, 1, "hello")["type"] == "messageChanged"  # type: ignore[index]
    sent_at(group, 1, 15 * 60 + 1)
    assert edit(ann, group, 1, "hello!")["code"] == "forbidden"  # type: ignore[index]
    assert history(ann, group)[1]["body"]["text"] == "hello" and stored_changes(group) == 1


def test_a_message_can_be_edited_ten_times(club: Any) -> None:
    ann, _laptop, _ben, _cat, group = club
    for n in range(10):
        assert edit(ann, group, 1, f"take {n}")["type"] == "messageChanged"  # type: ignore[index]
    assert edit(ann, group, 1, "one more")["code"] == "limit_exceeded"  # type: ignore[index]
    assert stored_changes(group) == 10


def test_an_edit_to_the_same_text_stores_nothing_and_pushes_nothing(club: Any, poster: FakePoster) -> None:
    ann, _laptop, ben, _cat, group = club
    reply = edit(ann, group, 1, "helo")
    assert reply is not None and reply["change"] == 0 and reply["message"]["body"]["text"] == "helo"
    assert stored_changes(group) == 0 and frames_of(poster, ben, "messageChanged") == []


def test_an_edit_with_bad_text_is_refused_and_stores_nothing(club: Any) -> None:
    ann, _laptop, _ben, _cat, group = club
    assert edit(ann, group, 1, "\x1b[2J")["code"] == "bad_request"  # type: ignore[index]
    assert edit(ann, group, 1, "")["code"] == "bad_request"  # type: ignore[index]
    assert history(ann, group)[1]["body"]["text"] == "helo" and stored_changes(group) == 0


# ---- delete for everyone ----------------------------------------------------------------------------


def test_delete_for_everyone_takes_the_text_out_of_storage_and_keeps_the_seq(
    club: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, laptop, ben, _cat, group = club
    edit(ann, group, 1, "a secret")
    react(ben, group, 1, THUMBS)
    ben.do({"action": "send", "conversationId": group, "clientMsgId": "q", "body": {"text": "what?"}, "replyTo": 1})

    reply = delete(ann, group, 1)

    assert reply is not None and reply["kind"] == "deleted", reply
    assert reply["message"]["deleted"] is True and reply["message"]["body"] == {"text": ""}
    assert "reactions" not in reply["message"] and "editedAt" not in reply["message"]
    assert frames_of(poster, laptop, "messageChanged")[-1]["message"]["deleted"] is True
    everything = json.dumps(table_contents(), ensure_ascii=False)
    assert "helo" not in everything and "a secret" not in everything
    shown = history(ben, group)
    assert sorted(shown) == [1, 2, 3] and shown[1]["deleted"] is True
    assert shown[3]["replyTo"] == 1  # the reply still names it: its quote shows it deleted
    # Nothing more can be done to it; deleting it again stores nothing.
    assert edit(ann, group, 1, "back")["code"] == "bad_request"  # type: ignore[index]
    assert react(ben, group, 1, HEART)["code"] == "bad_request"  # type: ignore[index]
    assert delete(ann, group, 1)["change"] == reply["change"]  # type: ignore[index]
    assert stored_changes(group) == 3


def test_only_its_sender_may_delete_a_message_and_only_for_48_hours(club: Any) -> None:
    ann, _laptop, ben, _cat, group = club
    assert delete(ben, group, 1)["code"] == "forbidden"  # type: ignore[index]
    sent_at(group, 1, 48 * 3600 + 1)
    assert delete(ann, group, 1)["code"] == "forbidden"  # type: ignore[index]
    sent_at(group, 1, 47 * 3600)
    assert delete(ann, group, 1)["type"] == "messageChanged"  # type: ignore[index]
    assert stored_changes(group) == 1


# ---- reactions --------------------------------------------------------------------------------------


def test_one_reaction_per_user_changeable_and_removable_live_and_in_history(club: Any, poster: FakePoster) -> None:
    ann, laptop, ben, cat, group = club

    assert react(ben, group, 1, THUMBS)["message"]["reactions"] == {"ben": THUMBS}  # type: ignore[index]
    assert react(cat, group, 1, THUMBS)["message"]["reactions"] == {"ben": THUMBS, "cat": THUMBS}  # type: ignore[index]
    assert react(ben, group, 1, HEART)["message"]["reactions"] == {"ben": HEART, "cat": THUMBS}  # type: ignore[index]
    assert history(ann, group)[1]["reactions"] == {"ben": HEART, "cat": THUMBS}
    removed = react(ben, group, 1, "")
    assert removed is not None and removed["message"]["reactions"] == {"cat": THUMBS}

    live = [f["message"].get("reactions") for f in frames_of(poster, laptop, "messageChanged")]
    assert live == [{"ben": THUMBS}, {"ben": THUMBS, "cat": THUMBS}, {"ben": HEART, "cat": THUMBS}, {"cat": THUMBS}]
    assert [f["change"] for f in frames_of(poster, ann, "messageChanged")] == [1, 2, 3, 4]
    # Removing what is not there, or reacting as before, stores nothing.
    assert react(ben, group, 1, "")["change"] == 4  # type: ignore[index]
    assert react(cat, group, 1, THUMBS)["change"] == 4  # type: ignore[index]
    assert stored_changes(group) == 4


@pytest.mark.parametrize("emoji", ["lol", " ", "\U0001f44d ", "\x00", "\U0001f44d" * 17, None, 1])
def test_a_reaction_that_is_not_one_emoji_is_refused_and_stores_nothing(club: Any, emoji: Any) -> None:
    _ann, _laptop, ben, _cat, group = club
    assert react(ben, group, 1, emoji)["code"] == "bad_request"  # type: ignore[index]
    assert stored_changes(group) == 0


def test_a_member_added_later_cannot_touch_a_message_from_before_it_joined(club: Any, device: Any) -> None:
    ann, _laptop, _ben, _cat, group = club
    dan = device("dan")
    ann.do({"action": "addMembers", "conversationId": group, "userIds": ["dan"]})
    assert react(dan, group, 1, THUMBS)["code"] == "bad_request"  # type: ignore[index]
    assert react(dan, group, 3, THUMBS)["code"] == "bad_request"  # type: ignore[index]
    assert stored_changes(group) == 0


# ---- catching up through sync -----------------------------------------------------------------------


def synced(dev: Any, poster: FakePoster, frame: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    poster.frames[dev.connection_id].clear()
    reply = dev.do({"action": "sync", **frame})
    assert reply is not None and reply["type"] == "synced", reply
    return reply, list(poster.frames[dev.connection_id])


def test_an_offline_device_catches_up_on_every_change_through_sync(club: Any, device: Any, poster: FakePoster) -> None:
    ann, _laptop, _ben, cat, group = club
    tablet = device("ben", "tablet")
    first, _ = synced(tablet, poster, {"cursors": {}})
    [summary] = first["conversations"]
    assert (summary["lastSeq"], summary["lastChange"]) == (2, 0)
    tablet.disconnect()

    edit(ann, group, 1, "hello")
    react(cat, group, 2, THUMBS)
    ann.send("three", conversationId=group)
    react(cat, group, 3, HEART)  # on a message the tablet does not hold yet: comes with the message
    edit(ann, group, 1, "hello!")

    tablet.connect()
    reply, frames = synced(tablet, poster, {"cursors": {group: 2}, "changeCursors": {group: 0}})

    assert [(f["type"], f.get("seq") or f["message"]["seq"]) for f in frames] == [
        ("message", 3),
        ("messageChanged", 2),
        ("messageChanged", 1),
    ]
    assert frames[0]["reactions"] == {"cat": HEART}
    assert frames[1]["message"]["reactions"] == {"cat": THUMBS}
    assert frames[2]["message"]["body"]["text"] == "hello!" and frames[2]["change"] == 4
    [summary] = reply["conversations"]
    assert (summary["lastSeq"], summary["lastChange"], reply["complete"]) == (3, 4, True)
    # Up to date: nothing is sent again.
    _, again = synced(tablet, poster, {"cursors": {group: 3}, "changeCursors": {group: 4}})
    assert again == []


def test_a_device_without_a_change_cursor_gets_current_messages_and_the_cursor(club: Any, poster: FakePoster) -> None:
    ann, _laptop, ben, _cat, group = club
    edit(ann, group, 1, "hello")
    reply, frames = synced(ben, poster, {"cursors": {}})
    assert [f["type"] for f in frames] == ["message", "message"]
    assert frames[0]["body"]["text"] == "hello" and "editedAt" in frames[0]
    # Each message carries the number of its last change (left out: never changed), so a client keeps
    # the latest state whichever frame brought it.
    assert (frames[0]["change"], "change" in frames[1]) == (1, False)
    assert (history(ben, group)[1]["change"], "change" in history(ben, group)[2]) == (1, False)
    assert reply["conversations"][0]["lastChange"] == 1


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Moves the change log's clock past its margin: a conversation listed only because it changed."""
    real = clock.epoch_ms
    offset = [0]
    monkeypatch.setattr(clock, "epoch_ms", lambda: real() + offset[0])

    def wait() -> None:
        offset[0] += 10 * 60 * 1000

    return wait


@pytest.mark.parametrize("pushed", [True, False], ids=["pushed", "stopped-before-pushing"])
def test_a_change_lists_the_conversation_for_a_sync_with_a_token(
    club: Any, poster: FakePoster, later: Any, monkeypatch: pytest.MonkeyPatch, pushed: bool
) -> None:
    ann, _laptop, ben, _cat, group = club
    later()
    reply, _ = synced(ben, poster, {"since": "", "cursors": {}})
    later()
    reply, _ = synced(ben, poster, {"since": reply["syncToken"], "cursors": {group: 2}, "changeCursors": {group: 0}})
    assert reply["conversations"] == []
    token = reply["syncToken"]
    later()
    if not pushed:  # the function stops once the change is stored (a time limit): logged ahead all the same
        monkeypatch.setattr(message_changes, "push_to_users", lambda *_a, **_k: (_ for _ in ()).throw(TimeoutError()))

    reply = react(ann, group, 2, THUMBS)
    assert reply is not None and reply["type"] == ("messageChanged" if pushed else "error")
    later()

    reply, frames = synced(ben, poster, {"since": token, "cursors": {group: 2}, "changeCursors": {group: 0}})
    assert [c["conversationId"] for c in reply["conversations"]] == [group]
    assert [f["message"]["reactions"] for f in frames] == [{"ann": THUMBS}]


def test_a_sync_cut_by_its_budget_says_where_the_next_one_starts(
    club: Any, poster: FakePoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat import sync

    ann, _laptop, ben, cat, group = club
    react(cat, group, 1, THUMBS)
    react(cat, group, 2, THUMBS)
    react(ann, group, 1, HEART)
    monkeypatch.setattr(sync, "MAX_MESSAGES_PER_SYNC", 1)

    pages = []
    cursor = 0
    for _ in range(3):
        reply, frames = synced(ben, poster, {"cursors": {group: 2}, "changeCursors": {group: cursor}})
        cursor = reply["conversations"][0]["lastChange"]
        pages.append(([f["message"]["seq"] for f in frames], cursor, reply["complete"]))

    # One message a page, each in its current state: the cursor moves past what was sent, no further.
    assert pages == [([1], 1, False), ([2], 2, False), ([1], 3, True)]
    assert frames[0]["message"]["reactions"] == {"ann": HEART, "cat": THUMBS}


# ---- former members ---------------------------------------------------------------------------------


def test_a_former_member_hears_nothing_after_leaving_and_sees_messages_as_of_its_leaving(
    club: Any, device: Any, poster: FakePoster
) -> None:
    ann, _laptop, ben, cat, group = club
    edit(ann, group, 1, "hello")
    react(ben, group, 1, THUMBS)
    cat_tablet = device("cat", "tablet")
    reply = ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["cat"]})
    assert reply is not None and reply["type"] == "group"
    time.sleep(0.01)  # what follows happens strictly after cat's leaving, to the millisecond
    poster.frames[cat.connection_id].clear()

    edit(ann, group, 1, "hello, minus cat")
    react(ann, group, 1, HEART)
    react(ben, group, 2, HEART)
    assert react(cat, group, 1, HEART)["code"] == "forbidden"  # type: ignore[index]

    assert frames_of(poster, cat, "messageChanged") == []
    shown = history(cat, group)[1]
    assert shown["body"]["text"] == "hello" and shown["reactions"] == {"ben": THUMBS}
    assert "change" not in shown  # its number would tell of the changes after the leaving
    assert "reactions" not in history(cat, group)[2]
    reply, frames = synced(cat_tablet, poster, {"cursors": {group: 2}, "changeCursors": {group: 0}})
    assert [(f["change"], f["message"]["body"]["text"]) for f in frames] == [(2, "hello")]
    assert frames[0]["message"]["reactions"] == {"ben": THUMBS}
    assert reply["conversations"][0]["lastChange"] == 2
    # A deletion after it left takes the text away from it too.
    delete(ann, group, 1)
    assert history(cat, group)[1]["deleted"] is True


def test_a_change_pushed_to_a_socket_that_is_gone_drops_its_connection(club: Any, poster: FakePoster) -> None:
    from chat.store.models import ConnectionModel, UserModel

    ann, _laptop, ben, _cat, group = club
    ben.vanish(poster)

    assert react(ann, group, 2, THUMBS)["type"] == "messageChanged"  # type: ignore[index]

    assert ConnectionModel.count("ben") == 0
    assert ben.connection_id not in (UserModel.get("ben", consistent_read=True).connection_ids or set())


def test_a_change_by_a_member_removed_while_it_was_being_stored_is_refused_and_stores_nothing(
    club: Any, poster: FakePoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat.store import messages as message_store

    ann, _laptop, ben, _cat, group = club
    store_change = message_store.store_change

    def removed_first(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(message_store, "store_change", store_change)
        assert ann.do({"action": "removeMembers", "conversationId": group, "userIds": ["ben"]})["type"] == "group"  # type: ignore[index]
        store_change(*args, **kwargs)

    monkeypatch.setattr(message_store, "store_change", removed_first)

    assert react(ben, group, 1, THUMBS)["code"] == "forbidden"  # type: ignore[index]
    assert stored_changes(group) == 0 and "reactions" not in history(ann, group)[1]
