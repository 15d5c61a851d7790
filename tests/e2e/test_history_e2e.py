"""history end to end: pages backwards by beforeSeq, ascending within a page, hasMore, and who may ask."""

from __future__ import annotations

import uuid

from tests.conftest import unique
from tests.e2e.support import refusal, send_many


async def test_history_pages_backwards_in_ascending_order(ws_connect) -> None:
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice), await ws_connect(bob)
    conversation = await send_many(alice_phone, 7, to=bob)
    live = {m["seq"]: m for m in await bob_phone.messages(conversation, 7)}

    async def page(**query: int) -> tuple[list[int], bool]:
        reply = await bob_phone.request({"action": "history", "conversationId": conversation, **query})
        assert (reply["type"], reply["conversationId"]) == ("history", conversation), reply
        # The same message objects every device got live.
        assert all(m == live[m["seq"]] for m in reply["messages"])
        return [m["seq"] for m in reply["messages"]], reply["hasMore"]

    assert await page() == ([1, 2, 3, 4, 5, 6, 7], False)
    assert await page(limit=3) == ([5, 6, 7], True)
    assert await page(beforeSeq=5, limit=3) == ([2, 3, 4], True)
    assert await page(beforeSeq=2, limit=3) == ([1], False)
    assert await page(beforeSeq=4, limit=3) == ([1, 2, 3], False)
    assert await page(beforeSeq=1) == ([], False)
    assert await page(beforeSeq=100, limit=2) == ([6, 7], True)
    assert (await page(limit=100))[0] == [1, 2, 3, 4, 5, 6, 7]

    # Walking back from the newest by the oldest seq of each page gives every message once, in order.
    walked: list[int] = []
    seqs, more = await page(limit=2)
    walked = seqs + walked
    while more:
        seqs, more = await page(beforeSeq=walked[0], limit=2)
        walked = seqs + walked
    assert walked == [1, 2, 3, 4, 5, 6, 7]


async def test_history_refuses_bad_limits_strangers_and_unknown_conversations(ws_connect) -> None:
    alice, bob, eve = unique("alice"), unique("bob"), unique("eve")
    alice_phone, eve_phone = await ws_connect(alice), await ws_connect(eve)
    await ws_connect(bob)
    conversation = await send_many(alice_phone, 1, to=bob)

    for limit in (0, 101):
        error = await alice_phone.request({"action": "history", "conversationId": conversation, "limit": limit})
        assert refusal(error) == ("error", "bad_request", "history"), error
    error = await alice_phone.request({"action": "history", "conversationId": conversation, "beforeSeq": 0})
    assert refusal(error)[:2] == ("error", "bad_request"), error
    error = await eve_phone.request({"action": "history", "conversationId": conversation})
    assert refusal(error)[:2] == ("error", "forbidden"), error
    error = await alice_phone.request({"action": "history", "conversationId": "d_" + uuid.uuid4().hex})
    assert refusal(error)[:2] == ("error", "not_found"), error
