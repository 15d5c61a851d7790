"""Many sends into one conversation at the same moment, over real sockets: some take the direct path,
the rest are queued for the conversation's one writer (docs/sequencing.md). Every one is answered,
stored once, and seen by every member in one gapless order."""

from __future__ import annotations

import asyncio

from tests.conftest import is_message, unique
from tests.e2e.support import create_group, send_in


async def test_sends_fired_at_once_into_one_group_are_answered_stored_once_and_seen_in_one_order(ws_connect) -> None:
    # Given a group of 8 members, one device each
    users = [unique(f"hot{i}") for i in range(8)]
    devices = [await ws_connect(user) for user in users]
    conversation = (await create_group(devices[0], "hot", users[1:], *devices[1:]))["conversationId"]

    # When every member sends 3 messages, all 24 at once
    frames = [send_in(conversation, f"{device.user_id} #{k}") for k in range(3) for device in devices]
    senders = [devices[i % len(devices)] for i in range(len(frames))]
    answers = await asyncio.gather(*(s.request(f, timeout=60) for s, f in zip(senders, frames, strict=True)))

    # Then each is answered `sent` (some by the sequencer, a moment later, on the same socket), with one seq each
    assert [a["type"] for a in answers] == ["sent"] * len(frames), answers
    assert [a["clientMsgId"] for a in answers] == [f["clientMsgId"] for f in frames]
    assert sorted(a["seq"] for a in answers) == list(range(1, len(frames) + 1))
    # And every member's device gets every other member's messages, at the seqs the senders were told
    for device in devices:
        for sender, frame, answer in zip(senders, frames, answers, strict=True):
            if sender is not device:
                pushed = await device.wait_for(is_message(conversation, answer["seq"]), timeout=60)
                assert (pushed["clientMsgId"], pushed["body"]) == (frame["clientMsgId"], frame["body"])
    # And the conversation holds each once, gapless
    history = await devices[0].request({"action": "history", "conversationId": conversation, "limit": 50})
    assert [m["seq"] for m in history["messages"]] == list(range(1, len(frames) + 1))
    assert sorted(m["clientMsgId"] for m in history["messages"]) == sorted(f["clientMsgId"] for f in frames)
