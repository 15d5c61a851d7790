"""Generated client frames (hypothesis strategies) and what every reply to one must be.

Shared by the frame fuzzing of tests/unit (parsing and the route adapter, in-process) and
tests/integration (the real route handlers against moto).

The frames: for every action a valid frame, then mutated (fields dropped, added, or given wrong
types, huge and negative numbers, edge-case unicode: surrogates, astral, RTL, zero-width, control
characters, deeply nested junk), and raw text that is not a JSON object at all (non-JSON bytes
decoded as they would arrive, truncated JSON, nesting deeper than a parser goes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from chat.actions import ACTIONS, frame_models
from chat.protocol import SERVER_FRAMES
from chat.protocol_limits import MAX_FRAME_BYTES
from tests.asyncapi import schema_validator

ACTION_NAMES = [action.name for action in ACTIONS]
# The codes a frame the parser refuses may get; anything else comes from the domain.
PARSE_ERRORS = {"bad_request", "unknown_action", "too_large"}

# ---- strings and numbers ----------------------------------------------------------------------------

EDGE_STRINGS = [
    "",
    " ",
    "a",
    "x" * 64,
    "x" * 65,
    "x" * 129,
    "é" * 4096,
    "é" * 4097,
    "\x00",
    "nul\x00inside",
    "\t",
    "\n",
    "line\n",
    "\r\n",
    "\x1b[2J\x1b[H",
    "\x7f",
    "\x85",
    "\x9b31m",
    "\u00a0",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200e\u200f",  # LTR / RTL marks
    "\u202eevil\u202c",  # right-to-left override
    "\u2028\u2029",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\U0001f600",  # astral
    "\U0001f469\u200d\U0001f4bb",
    "\U0010ffff",
    "\ud800",  # lone surrogates: valid in a JSON escape, not in UTF-8
    "\udfff",
    "a\udc80b",
    "\ud83d\ude00",  # a surrogate pair, as Python would hold it from an escape
    "שלום עולם",
    "مرحبا",
    "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",  # mathematical fraktur "Hello"
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "{}",
    '{"action":"send"}',
    "$default",
    "$connect",
    "send",
    "ping",
    "g_" + "0" * 32,
    "d_" + "f" * 32,
]

edge_strings = st.sampled_from(EDGE_STRINGS)
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)  # surrogates included
strings = st.one_of(edge_strings, any_text, st.text(max_size=10))
ints = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([2**31, 2**53 - 1, 2**53, 2**63, 10**38, 10**40, -(2**63), -(10**40), 2**200]),
    st.integers(),
)
floats = st.one_of(st.sampled_from([0.0, -0.0, 1.0, 5.0, 0.5, 1e308, -1e308, 1e-320]), st.floats())
scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings)
junk: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(strings, st.sampled_from(["action", "seq"])), inner, max_size=4),
    ),
    max_leaves=12,
)

# ---- frames -----------------------------------------------------------------------------------------


def valid_frames(
    ids: st.SearchStrategy[str], users: st.SearchStrategy[str]
) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """A strategy of valid-looking frames per action, naming conversations from `ids` and users from `users`."""
    client_msg_id = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
    text = st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(["hi", "two\nlines\tok", "\u202e\U0001f600"]),
        st.sampled_from(["\ud800", "a\udfff", "\udbff\udbff", "x\udc80y"]),  # lone surrogates (as JSON escapes)
        strings,
    )
    seq = st.integers(min_value=1, max_value=50)
    conversation = {"conversationId": ids}
    message = {"clientMsgId": client_msg_id, "body": st.fixed_dictionaries({"text": text})}
    content_type = st.one_of(st.sampled_from(["image/png", "application/pdf", "text/html", "image/PNG"]), strings)
    size = st.one_of(st.sampled_from([1, 1024, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1, 0]), ints)
    attachment = st.fixed_dictionaries(
        {
            "attachmentId": st.one_of(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), strings),
            "contentType": content_type,
            "size": size,
        },
        optional={"name": text, "width": ints, "height": ints},
    )
    return {
        "send": st.one_of(
            st.fixed_dictionaries({"to": users, **message}),
            st.fixed_dictionaries({**conversation, **message}, optional={"replyTo": seq, "attachment": attachment}),
        ),
        "requestUpload": st.fixed_dictionaries(
            {**conversation, "contentType": content_type, "size": size}, optional={"name": text}
        ),
        "edit": st.fixed_dictionaries({**conversation, "seq": seq, "body": st.fixed_dictionaries({"text": text})}),
        "delete": st.fixed_dictionaries({**conversation, "seq": seq}),
        "react": st.fixed_dictionaries(
            {
                **conversation,
                "seq": seq,
                "emoji": st.one_of(st.sampled_from(["", "\U0001f44d", "1\ufe0f\u20e3"]), strings),
            }
        ),
        "mute": st.fixed_dictionaries(
            {**conversation},
            optional={
                "until": st.one_of(
                    st.none(), st.sampled_from(["2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z"]), strings
                )
            },
        ),
        "unmute": st.fixed_dictionaries({**conversation}),
        "block": st.fixed_dictionaries({"userId": users}),
        "unblock": st.fixed_dictionaries({"userId": users}),
        "registerPush": st.one_of(
            st.fixed_dictionaries(
                {"platform": st.just("apns"), "token": st.text("0123456789abcdef", min_size=64, max_size=200)},
                optional={"previews": st.booleans()},
            ),
            st.fixed_dictionaries(
                {"platform": st.just("fcm"), "token": st.from_regex(r"[A-Za-z0-9_:.-]{1,300}", fullmatch=True)},
                optional={"previews": st.booleans()},
            ),
            st.fixed_dictionaries(
                {
                    "platform": st.just("webpush"),
                    "token": st.builds(
                        lambda path, p256dh, auth: json.dumps(
                            {"endpoint": f"https://push.example/{path}", "keys": {"p256dh": p256dh, "auth": auth}}
                        ),
                        st.from_regex(r"[A-Za-z0-9_-]{1,100}", fullmatch=True),
                        st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True),
                        st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
                    ),
                }
            ),
        ),
        "unregisterPush": st.fixed_dictionaries({}),
        "delivered": st.fixed_dictionaries({**conversation, "seq": seq}),
        "read": st.fixed_dictionaries({**conversation, "seq": seq}),
        "receipts": st.fixed_dictionaries({**conversation, "seq": seq}),
        "sync": st.fixed_dictionaries(
            {},
            optional={
                "cursors": st.dictionaries(ids, st.integers(0, 60), max_size=3),
                "changeCursors": st.dictionaries(ids, st.integers(0, 60), max_size=3),
            },
        ),
        "history": st.fixed_dictionaries(
            conversation, optional={"beforeSeq": seq, "limit": st.integers(min_value=1, max_value=100)}
        ),
        "createGroup": st.fixed_dictionaries({"name": text, "members": st.lists(users, max_size=3)}),
        "addMembers": st.fixed_dictionaries({**conversation, "userIds": st.lists(users, min_size=1, max_size=3)}),
        "removeMembers": st.fixed_dictionaries({**conversation, "userIds": st.lists(users, min_size=1, max_size=3)}),
        "leaveGroup": st.fixed_dictionaries(conversation),
        "subscribePresence": st.fixed_dictionaries({"userIds": st.lists(users, max_size=3)}),
        "typing": st.fixed_dictionaries({**conversation, "state": st.sampled_from(["start", "stop"])}),
        "ping": st.fixed_dictionaries({}),
    }


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """The frame with 0-3 mutations: a field dropped, added, or its value replaced by junk."""
    frame = dict(base)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        kind = draw(st.sampled_from(["drop", "add", "replace", "nest"]))
        keys = sorted(frame)
        if kind == "drop" and keys:
            frame.pop(draw(st.sampled_from(keys)))
        elif kind == "add":
            frame[draw(st.one_of(strings, st.sampled_from(["requestId", "extra", "senderId", "userId"])))] = draw(junk)
        elif kind == "replace" and keys:
            frame[draw(st.sampled_from(keys))] = draw(junk)
        elif kind == "nest" and keys:
            key = draw(st.sampled_from(keys))
            frame[key] = draw(st.sampled_from([[frame[key]], {"value": frame[key]}]))
    return frame


@st.composite
def client_frames(
    draw: st.DrawFn,
    ids: st.SearchStrategy[str] | None = None,
    users: st.SearchStrategy[str] | None = None,
    valid: int = 3,
) -> tuple[str, str]:
    """(what it is, the frame's raw text): mostly frames of an action, valid (`valid` in 16) or mutated,
    else raw junk."""
    ids = ids if ids is not None else strings
    users = users if users is not None else strings
    others = ["junk", "raw", "bytes", "deep", "huge"]
    kind = draw(st.sampled_from(["valid"] * valid + ["mutated"] * (11 - valid) + others))
    if kind in ("valid", "mutated"):
        action = draw(st.sampled_from(ACTION_NAMES))
        frame: dict[str, Any] = {"action": action, **draw(valid_frames(ids, users)[action])}
        if draw(st.booleans()):
            frame["requestId"] = draw(st.one_of(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), strings))
        if kind == "mutated":
            frame = draw(mutated(frame))
        return action, dumps(frame, draw(st.booleans()))
    if kind == "junk":
        return "junk", dumps(draw(junk), draw(st.booleans()))
    if kind == "raw":
        return "raw", draw(st.one_of(any_text, edge_strings, truncated_json()))
    if kind == "bytes":  # a text frame is UTF-8; whatever bytes, decoded as the runtime would
        data = draw(st.binary(max_size=64))
        return "bytes", data.decode("utf-8", errors=draw(st.sampled_from(["replace", "surrogateescape", "ignore"])))
    if kind == "deep":
        depth = draw(st.sampled_from([50, 1000, 5000, 16000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = opener * depth + "1" + closer * depth
        return "deep", f'{{"action":"send","body":{inner}}}' if draw(st.booleans()) else inner
    padding = "x" * draw(st.sampled_from([MAX_FRAME_BYTES - 60, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 100_000]))
    return "huge", json.dumps({"action": draw(st.sampled_from(ACTION_NAMES)), "requestId": "big", "pad": padding})


@st.composite
def truncated_json(draw: st.DrawFn) -> str:
    text = json.dumps({"action": draw(st.sampled_from(ACTION_NAMES)), "x": draw(junk)})
    return text[: draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))]


def dumps(value: Any, ascii_only: bool) -> str:
    """JSON as a client might write it: escaped (lone surrogates as \\udXXX) or raw UTF-8; NaN and
    Infinity as Python writes them, which is not JSON."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    if not ascii_only:
        # A text frame is UTF-8: a lone surrogate cannot travel raw, only as a JSON escape.
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


# ---- what a reply must be ---------------------------------------------------------------------------

SERVER_MODELS: dict[str, type[BaseModel]] = {
    str(model.model_fields["type"].annotation.__args__[0]): model  # type: ignore[union-attr]
    for model in SERVER_FRAMES
}


def check_server_frame(frame: Any) -> None:
    """A frame the server sent: a JSON object of a known type, valid by its model and its AsyncAPI schema."""
    assert isinstance(frame, dict) and frame.get("type") in SERVER_MODELS, frame
    model = SERVER_MODELS[frame["type"]]
    try:
        model.model_validate(frame)
    except ValidationError as exc:
        raise AssertionError(f"{frame} is no valid {model.__name__}: {exc}") from None
    errors = [error.message for error in schema_validator(model.__name__).iter_errors(frame)]
    assert errors == [], (frame, errors)
    # It went out as UTF-8 text: no lone surrogate (the socket could not send it).
    json.dumps(frame, ensure_ascii=False).encode("utf-8")


def check_reply(response: Any) -> dict[str, Any] | None:
    """The route handler's answer: statusCode 200 with one protocol frame, or none; returns the frame."""
    assert isinstance(response, dict) and response.get("statusCode") == 200, response
    if "body" not in response:
        return None
    frame = json.loads(response["body"])
    check_server_frame(frame)
    assert frame.get("code") != "internal", frame  # nothing failed on the way
    return frame  # type: ignore[no-any-return]


def schema_blind_spot(value: Any) -> bool:
    """Whether a frame holds what JSON Schema (as Python's jsonschema reads it) cannot tell apart from
    what the model refuses: 5.0 as an integer, lone surrogates, a string ending in a newline (Python's
    `$` matches before it; ECMA's does not), NaN and infinities; or nesting deeper than a recursive
    validator goes."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > 100:
            return True
        if isinstance(item, float) and (not math.isfinite(item) or item.is_integer()):
            return True
        if isinstance(item, str) and (item.endswith("\n") or any("\ud800" <= c <= "\udfff" for c in item)):
            return True
        if isinstance(item, dict):
            pending.extend((k, depth + 1) for k in item)
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)
    return False


def schema_accepts(action: str, frame: dict[str, Any]) -> bool:
    return bool(schema_validator(frame_models()[action].__name__).is_valid(frame))


Check = Callable[[str, str], None]
