"""The action registry is the one declaration of an action: every entry is routed, handled, parsed
and documented, and nothing is any of those without an entry."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import get_args

import pytest
import yaml

from chat.actions import ACTIONS, BY_NAME, Action, parse_client_frame
from chat.topology import FUNCTIONS, ROUTES, SYSTEM_ROUTES, TAKE_TOKENS, route_for
from local.events import LOCAL_API, authorized_connection, message_event
from local.lambdas import LambdaContext

ROOT = Path(__file__).resolve().parents[2]


def test_routes_are_the_system_routes_and_one_per_action() -> None:
    assert SYSTEM_ROUTES + tuple((route_for(a.name)) for a in ACTIONS) == ROUTES
    for action in ACTIONS:
        assert route_for(action.name).function == action.function
        assert action.function in FUNCTIONS


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_each_action_is_served_by_its_function_handler(action: Action) -> None:
    # A frame of the action missing its fields: the function's handler parses it as that action
    # (bad_request), where any other function answers that it does not serve it.
    module, _, attribute = FUNCTIONS[action.function].handler.rpartition(".")
    handler = getattr(importlib.import_module(module), attribute)
    body = json.dumps({"action": action.name, "bogus": 1})
    event = message_event(LOCAL_API, authorized_connection("alice", "phone"), action.name, body)
    reply = json.loads(handler(event, LambdaContext.of(action.function))["body"])
    assert (reply["type"], reply["code"], reply["action"]) == ("error", "bad_request", action.name)
    assert callable(action.load())


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_each_action_names_the_frame_model_of_that_action(action: Action) -> None:
    # The registry names its models (chat/protocol.py is imported when one is first used): a model
    # whose `action` literal is another action's would parse the wrong frames.
    assert get_args(action.frame.model_fields["action"].annotation) == (action.name,)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_each_action_is_documented(action: Action) -> None:
    asyncapi = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    assert f"receive.{action.name}" in asyncapi["operations"]
    assert f"`{action.name}`" in (ROOT / "docs" / "PROTOCOL.md").read_text()


def test_parsing_knows_exactly_the_registered_actions() -> None:
    assert parse_client_frame('{"action": "ping"}').action == "ping"  # type: ignore[attr-defined]
    assert set(BY_NAME) == {a.name for a in ACTIONS} and len(BY_NAME) == len(ACTIONS)


LIMITED = [action for action in ACTIONS if action.limit is not None]


@pytest.mark.parametrize("action", LIMITED, ids=lambda a: a.name)
def test_each_rate_limit_is_documented_as_declared(action: Action) -> None:
    assert action.limit is not None
    row = f"| `{action.name}` | {action.limit.rate} | {action.limit.burst} |"
    assert row in (ROOT / "docs" / "PROTOCOL.md").read_text(), f"docs/PROTOCOL.md has no row {row}"


def test_the_rate_limit_table_lists_only_limited_actions() -> None:
    protocol = (ROOT / "docs" / "PROTOCOL.md").read_text()
    section = protocol[protocol.index("**Rate limits**") :]
    rows = [line for line in section.splitlines() if line.strip().startswith("| `")]
    assert len(rows) == len(LIMITED)


def test_a_function_may_take_tokens_exactly_when_it_serves_a_limited_action() -> None:
    limited = {action.function for action in LIMITED}
    for name, function in FUNCTIONS.items():
        takes = set(TAKE_TOKENS.actions) <= set(function.grants.get(("Limits", None), ()))
        assert takes == (name in limited), name
