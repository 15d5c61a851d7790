"""Generated frames (tests/fuzz.py) through the real route handlers against moto, routed as API Gateway
routes them, from a group admin and from an outsider, naming real and unknown conversations and users:

- every invocation answers statusCode 200 with one protocol frame (valid by its model and its AsyncAPI
  schema) or none, never `internal`: no handler raised;
- every frame pushed meanwhile (`presence`, `message`, `group`, ...) is a protocol frame too;
- a refused frame (any `error`) leaves every table as it was.

Fewer frames than tests/unit/test_fuzz_frames.py (each is a few moto calls and two scans of every
table), deterministic (`derandomize`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.observability import logger
from chat.topology import route_for
from local.events import LOCAL_API, message_event, select_route
from tests.fuzz import check_reply, check_server_frame, client_frames, strings
from tests.integration.support import FakePoster, invoke, table_contents

FRAMES = 400


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    level = logger.log_level
    logger.setLevel("WARNING")
    yield
    logger.setLevel(level)


def test_generated_frames_get_protocol_replies_and_refused_ones_store_nothing(
    device: Any, poster: FakePoster, quiet_logs: None
) -> None:
    alice, _bob, _carol, eve = device("alice"), device("bob"), device("carol"), device("eve")
    created = alice.do({"action": "createGroup", "name": "club", "members": ["bob", "carol"]})
    assert created is not None
    group = created["conversationId"]
    direct = alice.send("hello", to="bob")["conversationId"]
    # Mostly the real ones, so that many frames get past parsing and access checks into the domain.
    unknown = ["g_" + "0" * 32, "d_" + "0" * 32]
    ids = st.one_of(st.sampled_from([group, direct]), st.sampled_from([group, *unknown]), strings)
    users = st.one_of(st.sampled_from(["bob", "carol"]), st.sampled_from(["alice", "dave", "eve", "nobody"]), strings)
    senders = {"admin": alice, "outsider": eve}
    kinds: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=FRAMES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        kind, raw = data.draw(client_frames(ids, users, valid=7))  # more frames that get past parsing
        sender = senders[data.draw(st.sampled_from(sorted(senders)))]
        kinds[kind] += 1
        before = table_contents()
        pushed_before = {cid: len(frames) for cid, frames in poster.frames.items()}
        route = select_route(raw)  # as API Gateway selects it, on the frame's action

        reply = check_reply(invoke(route_for(route).function, message_event(LOCAL_API, sender.connection, route, raw)))

        for connection_id, frames in poster.frames.items():
            for frame in frames[pushed_before.get(connection_id, 0) :]:
                check_server_frame(frame)
        outcome = "none" if reply is None else reply.get("code", reply["type"])
        outcomes[outcome] += 1
        if reply is not None and reply["type"] == "error":
            assert table_contents() == before, f"a refused frame ({reply['code']}) stored something: {raw!r}"

    check()

    print(f"\n{sum(kinds.values())} frames through the handlers: {dict(sorted(kinds.items()))}")
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    assert sum(kinds.values()) >= FRAMES
    assert outcomes["forbidden"] and outcomes["not_found"] and outcomes["bad_request"], outcomes
