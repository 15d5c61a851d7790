"""More than 10 000 generated frames (tests/fuzz.py) through frame parsing and the route adapter
(chat/api.handle_frame), with a fake domain in place of every action's callable:

- every reply is statusCode 200 with one protocol frame (valid by its model and its AsyncAPI schema)
  or none, and never `internal`: nothing raised;
- a frame the parser refuses gets `bad_request`, `unknown_action` or `too_large` and never reaches
  the domain; one it accepts reaches the domain of its action, once, as that action's frame model,
  and is text throughout (no lone surrogate: it could be neither stored nor sent back);
- the AsyncAPI schema of the action agrees with the parser, both ways (but where JSON Schema cannot
  tell: tests/fuzz.py `schema_blind_spot`).

Deterministic (`derandomize`): the same frames on every run. tests/integration/test_fuzz_handlers.py
sends fewer through the real handlers against moto.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import config
from chat.actions import frame_models
from chat.api import handle_frame
from chat.observability import logger
from chat.protocol_limits import MAX_FRAME_BYTES
from local.events import LOCAL_API, authorized_connection, message_event, select_route
from tests.fuzz import ACTION_NAMES, PARSE_ERRORS, check_reply, client_frames, schema_accepts, schema_blind_spot

FRAMES = 10_500


@pytest.fixture
def no_rate_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake domain runs without AWS: no bucket to take tokens from. And no log line per frame."""
    monkeypatch.setenv(config.ENV_RATE_LIMITS, "off")
    config.settings.cache_clear()
    level = logger.log_level
    logger.setLevel("WARNING")
    yield
    logger.setLevel(level)
    config.settings.cache_clear()


def decoded(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def test_every_generated_frame_gets_a_protocol_reply_and_only_valid_frames_reach_the_domain(
    no_rate_limits: None,
) -> None:
    calls: list[tuple[str, Any]] = []

    def fake(name: str) -> Any:
        def serve(caller: Any, frame: Any) -> None:
            # What reaches the domain is text throughout: storable in DynamoDB, sendable as UTF-8.
            json.dumps(frame.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
            calls.append((name, frame))

        return serve

    served = {name: fake(name) for name in ACTION_NAMES}
    connection = authorized_connection("alice", "phone")
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
        kind, raw = data.draw(client_frames())
        kinds[kind] += 1
        calls.clear()
        event = message_event(LOCAL_API, connection, select_route(raw), raw)

        reply = check_reply(handle_frame(event, served))

        sent = decoded(raw)
        if reply is None:
            ((name, frame),) = calls
            outcomes["accepted"] += 1
            assert isinstance(frame, frame_models()[name]) and sent["action"] == name
            if not schema_blind_spot(sent):
                assert schema_accepts(name, sent), f"the parser took what the AsyncAPI schema refuses: {raw!r}"
            return
        assert reply["type"] == "error" and reply["code"] in PARSE_ERRORS, (raw, reply)
        assert calls == []
        outcomes[reply["code"]] += 1
        action = sent.get("action") if isinstance(sent, dict) and isinstance(sent.get("action"), str) else None
        size = len(raw.encode("utf-8", "surrogatepass"))
        if reply["code"] == "bad_request" and action in frame_models() and size <= MAX_FRAME_BYTES:
            assert reply["action"] == action
            if not schema_blind_spot(sent):
                assert not schema_accepts(action, sent), f"the AsyncAPI schema takes what the parser refuses: {raw!r}"

    check()

    total = sum(kinds.values())
    print(f"\n{total} generated frames: {dict(sorted(kinds.items()))}; outcomes {dict(sorted(outcomes.items()))}")
    assert total >= 10_000
    assert set(ACTION_NAMES) <= set(kinds), "every action was generated"
    assert outcomes["accepted"] >= 1000 and outcomes["bad_request"] >= 1000, outcomes
    assert outcomes["unknown_action"] and outcomes["too_large"], outcomes
