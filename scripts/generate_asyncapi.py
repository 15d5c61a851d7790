"""Generate docs/asyncapi.yaml, the AsyncAPI 3.0 description of the WebSocket protocol, from the
pydantic models in chat/protocol.py that the handlers validate and serialize frames with.

    .venv/bin/python scripts/generate_asyncapi.py           # (re)writes docs/asyncapi.yaml
    .venv/bin/python scripts/generate_asyncapi.py --check   # exit 1 if docs/asyncapi.yaml is stale

Perspective: the document describes the *server* application. Client frames are messages the server
`receive`s (one operation per action, with the direct reply as the operation's `reply`); server
frames are messages the server `send`s (one operation per frame type).

Payload schemas come from `model_json_schema(ref_template="#/components/schemas/{model}")`, with
nested models (`$defs`) hoisted into components/schemas. Client frames use pydantic's validation
mode (what the server accepts); server frames its serialization mode, adjusted to what
`_ServerFrame.wire()` really sends: every field is always present except the ones in the model's
`_optional` set, which are left out instead of being null. Field titles are not emitted (they are
just the field names). Only JSON Schema keywords that draft-07, and so AsyncAPI's default schema
format, understands are allowed; generation fails on anything else.

Client actions, with their summaries and replies, come from chat/actions.py's registry; the prose
for server frames and error codes lives in the tables below, and generation fails when a server
frame type or error code has no entry, so a new frame cannot reach the document undocumented.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode  # noqa: E402
from pydantic_core import CoreSchema  # noqa: E402

from chat import protocol  # noqa: E402
from chat.actions import ACTIONS  # noqa: E402
from chat.auth.tokens import DEVICE_ID  # noqa: E402
from chat.protocol import SERVER_FRAMES, ErrorOut, SendFrame  # noqa: E402
from chat.protocol_limits import MAX_CONNECTIONS_PER_USER, MAX_FRAME_BYTES  # noqa: E402
from infrastructure.config import STAGE_NAME  # noqa: E402

OUTPUT = ROOT / "docs" / "asyncapi.yaml"
REF_TEMPLATE = "#/components/schemas/{model}"
CHANNEL = "socket"
LOCAL_PORT = "8080"  # `make dev`'s default PORT
WS_BINDING_VERSION = "0.1.0"

Json = dict[str, Any]


SERVER_TYPES: dict[str, str] = {
    "message": "A message of a conversation: pushed to every connected device of every member, and sent by `sync`. "
    "Delivery is at-least-once: drop a (`conversationId`, `seq`) already held.",
    "messageChanged": "A message was edited, deleted for everyone or reacted to: the message in its new state (a "
    "deleted one with empty text and `deleted: true`) and `change`, the number of the conversation's changes it "
    "includes. "
    "The direct reply to `edit`, `delete` and `react`, pushed to every other device of every member who can see the "
    "message, and sent by `sync` after a `changeCursors` entry. Keep the highest `change` applied per message and "
    "drop a frame with a lower one.",
    "muted": "Whether the user has the conversation muted, and until when (`until` null while muted: until "
    "`unmute`): the reply to `mute` and `unmute`, pushed to the user's other devices.",
    "blocked": "Whether the user has another user blocked: the reply to `block` and `unblock`, pushed to the user's "
    "other devices.",
    "pushRegistered": "Reply to `registerPush`: the calling device is sent push notifications while it has no open "
    "socket (`previews`: the user's setting, when the frame set it).",
    "pushUnregistered": "Reply to `unregisterPush`: the calling device is sent no more push notifications.",
    "sent": "Reply to `send`: the message is durably stored under `seq` (the single check mark).",
    "receipt": "A delivered or read watermark moved: a user's (direct chats) or `*`, the lowest over all members "
    "(groups).",
    "presence": "A user's presence: online while at least one device is connected; `lastSeen` is null while online.",
    "typing": "Another member started or stopped typing.",
    "group": "A group changed (created, members added or removed, a member left); pushed to all current members "
    "and to those removed or leaving.",
    "synced": "Reply to `sync`, after its `message` frames: the caller's conversations with their current state.",
    "history": "Reply to `history`: one page of messages in ascending `seq` order.",
    "receipts": "Reply to `receipts`: per-member delivered/read timestamps for one message.",
    "uploadReady": "Reply to `requestUpload`: a presigned S3 POST (`url`, `fields`) for one attachment, valid until "
    "`expiresAt`. POST a multipart form with every field and then the file (`file`), then `send` with the "
    "`attachment`.",
    "pong": "Reply to `ping`.",
    "error": "A client frame was refused; nothing was stored. Carries `action`, `requestId` and `clientMsgId` "
    "of the refused frame where they were readable.",
}

ERROR_CODES: dict[str, str] = {
    "bad_request": "not JSON, unknown or missing fields, wrong types or values",
    "unknown_action": "the frame's `action` is not one of the protocol's",
    "too_large": f"the frame is larger than {MAX_FRAME_BYTES // 1024} KB",
    "not_found": "no such conversation or user",
    "forbidden": "not a member, not an admin, or not allowed to see that presence",
    "limit_exceeded": "group size or list length over the limit",
    "rate_limited": "too many frames of this action (per user); nothing was done, and `retryAfterMs` says in how many "
    "milliseconds the same frame may succeed",
    "internal": "the server failed; nothing was stored",
}

# Rules the models enforce in validators, which pydantic cannot put into the JSON Schema.
VALIDATOR_RULES: dict[type[BaseModel], Json] = {
    SendFrame: {
        "oneOf": [
            {"required": ["conversationId"], "properties": {"conversationId": {"type": "string"}}},
            {"required": ["to"], "properties": {"to": {"type": "string"}}},
        ],
        # An attachment goes to a conversation; without one the text may not be empty.
        "if": {"required": ["attachment"]},
        "then": {"required": ["conversationId"]},
        "else": {"properties": {"body": {"properties": {"text": {"minLength": 1}}}}},
    },
    ErrorOut: {
        "if": {"properties": {"code": {"const": "rate_limited"}}},
        "then": {"required": ["retryAfterMs"]},
        "else": {"not": {"required": ["retryAfterMs"]}},
    },
}

# Keywords pydantic may emit that AsyncAPI's default (draft-07 based) schema format does not know.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "$defs",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
        "contentSchema",
        "minContains",
        "maxContains",
    }
)
# Emission order of schema keywords (the rest follow, sorted): readable and stable.
KEYWORD_ORDER = (
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "anyOf",
    "oneOf",
    "if",
    "then",
    "else",
    "default",
)
NAMED_SCHEMAS = ("properties", "patternProperties")  # name -> schema maps: keep the model's field order
SUBSCHEMA = ("items", "additionalProperties", "propertyNames", "not", "if", "then", "else", "contains")
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


class _NoFieldTitles(GenerateJsonSchema):
    """Model titles stay (they name the schemas); per-field titles only repeat the field name."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:  # type: ignore[override]
        return False


def _canonical(schema: Json) -> Json:
    def rank(key: str) -> tuple[int, str]:
        return (KEYWORD_ORDER.index(key) if key in KEYWORD_ORDER else len(KEYWORD_ORDER), key)

    out: Json = {}
    for key in sorted(schema, key=rank):
        value = schema[key]
        if key in UNSUPPORTED_KEYWORDS:
            raise ValueError(f"JSON Schema keyword {key!r} is not supported by AsyncAPI's default schema format")
        if key in NAMED_SCHEMAS:
            out[key] = {name: _canonical(sub) for name, sub in value.items()}
        elif key in SUBSCHEMA and isinstance(value, dict):
            out[key] = _canonical(value)
        elif key in SUBSCHEMA_LISTS:
            out[key] = [_canonical(sub) for sub in value]
        else:
            out[key] = value
    return out


def _server_wire(model: type[BaseModel], schema: Json) -> Json:
    """What `wire()` sends: every field, null included, except `_optional` ones, which are omitted while None."""
    optional: frozenset[str] = model.__private_attributes__["_optional"].get_default()
    properties: Json = schema["properties"]
    schema["required"] = [name for name in properties if name not in optional]
    for name in properties.keys() & optional:
        prop = dict(properties[name])
        prop.pop("default", None)
        branches = [branch for branch in prop.pop("anyOf", []) if branch != {"type": "null"}]
        if len(branches) == 1:
            prop.update(branches[0])
        elif branches:
            prop["anyOf"] = branches
        properties[name] = prop
    return schema


def _client_no_nulls(schema: Json) -> Json:
    """Client frames may leave optional fields out but never send them as null (the server refuses it)."""
    properties: Json = schema.get("properties", {})
    for name, prop in list(properties.items()):
        if "anyOf" not in prop:
            continue
        prop = dict(prop)
        if prop.get("default", "") is None:
            prop.pop("default")
        branches = [branch for branch in prop.pop("anyOf") if branch != {"type": "null"}]
        if len(branches) == 1:
            prop.update(branches[0])
        else:
            prop["anyOf"] = branches
        properties[name] = prop
    return schema


class Schemas:
    """components/schemas, filled model by model; a name must always mean the same schema."""

    def __init__(self) -> None:
        self.schemas: dict[str, Json] = {}

    def add(self, name: str, schema: Json) -> None:
        schema = _canonical(schema)
        if name in self.schemas and self.schemas[name] != schema:
            raise ValueError(f"two different schemas are named {name!r}")
        self.schemas[name] = schema

    def add_model(self, model: type[BaseModel], mode: JsonSchemaMode) -> str:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode=mode, schema_generator=_NoFieldTitles)
        for name, sub in schema.pop("$defs", {}).items():
            if mode == "serialization" and "properties" in sub:
                nested = getattr(protocol, name, None)
                if isinstance(nested, type) and "_optional" in getattr(nested, "__private_attributes__", {}):
                    # A nested model that leaves its `_optional` fields out while None (as frames do).
                    sub = _server_wire(nested, sub)
                else:
                    # Nested models are dumped whole by `model_dump`: every field is present, null included.
                    sub["required"] = list(sub["properties"])
            elif mode == "validation":
                # A nested client model (a send's `attachment`) refuses nulls as frames do.
                sub = _client_no_nulls(sub)
            self.add(name, sub)
        schema = _server_wire(model, schema) if mode == "serialization" else _client_no_nulls(schema)
        schema.update(VALIDATOR_RULES.get(model, {}))
        self.add(model.__name__, schema)
        return model.__name__

    def check_refs(self, document: Json) -> None:
        for ref in _refs(document):
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in self.schemas:
                raise ValueError(f"dangling reference {ref}")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _ref(*path: str) -> Json:
    return {"$ref": "#/" + "/".join(path)}


def _frame_type(model: type[BaseModel]) -> str:
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def _missing(kind: str, documented: dict[str, Any], actual: list[str]) -> None:
    undocumented = [name for name in actual if name not in documented]
    stale = [name for name in documented if name not in actual]
    if undocumented or stale:
        raise ValueError(f"{kind}: undocumented {undocumented}, documented but gone {stale}")


def _error_codes() -> list[str]:
    annotation = ErrorOut.model_fields["code"].annotation
    if get_origin(annotation) is not Literal:
        raise ValueError("ErrorOut.code is expected to be a Literal of the error codes")
    return [str(code) for code in get_args(annotation)]


def build() -> Json:
    server_models = {_frame_type(model): model for model in SERVER_FRAMES}
    codes = _error_codes()
    _missing("server frame types", SERVER_TYPES, list(server_models))
    _missing("error codes", ERROR_CODES, codes)
    for spec in ACTIONS:
        unknown = [reply for reply in spec.replies if reply not in server_models]
        if unknown:
            raise ValueError(f"{spec.name}: replies name unknown server frame types {unknown}")

    schemas = Schemas()
    messages: Json = {}
    for spec in ACTIONS:
        action = spec.name
        messages[f"client.{action}"] = {
            "name": action,
            "title": f"{action} (client frame)",
            "summary": spec.summary,
            "contentType": "application/json",
            "correlationId": _ref("components", "correlationIds", "requestId"),
            "payload": _ref("components", "schemas", schemas.add_model(spec.frame, "validation")),
        }
    for frame_type, model in server_models.items():
        message: Json = {
            "name": frame_type,
            "title": f"{frame_type} (server frame)",
            "summary": SERVER_TYPES[frame_type],
            "contentType": "application/json",
        }
        if model is ErrorOut:
            message["description"] = "Error codes:\n\n" + "\n".join(
                f"- `{code}`: {ERROR_CODES[code]}" for code in codes
            )
        if "requestId" in model.model_fields:
            message["correlationId"] = _ref("components", "correlationIds", "requestId")
        message["payload"] = _ref("components", "schemas", schemas.add_model(model, "serialization"))
        messages[f"server.{frame_type}"] = message

    channel_messages = {key: _ref("components", "messages", key) for key in messages}
    operations: Json = {}
    for spec in ACTIONS:
        action = spec.name
        operations[f"receive.{action}"] = {
            "action": "receive",
            "channel": _ref("channels", CHANNEL),
            "summary": spec.summary,
            "description": f"{spec.reply_note} A refused frame is answered with `error` instead.",
            "messages": [_ref("channels", CHANNEL, "messages", f"client.{action}")],
            "reply": {
                "channel": _ref("channels", CHANNEL),
                "messages": [
                    _ref("channels", CHANNEL, "messages", f"server.{reply}") for reply in (*spec.replies, "error")
                ],
            },
        }
    for frame_type in server_models:
        operations[f"send.{frame_type}"] = {
            "action": "send",
            "channel": _ref("channels", CHANNEL),
            "summary": SERVER_TYPES[frame_type],
            "messages": [_ref("channels", CHANNEL, "messages", f"server.{frame_type}")],
        }

    document: Json = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Chat WebSocket protocol",
            "version": "1",
            "description": (
                "Frames of the chat backend's WebSocket protocol, version 1. The rules behind them (ordering, "
                "idempotent sends, delivery, receipts, groups, presence) are in docs/PROTOCOL.md, which is the "
                "contract; this document gives the frames' exact shapes.\n\n"
                "Generated by scripts/generate_asyncapi.py from the pydantic models in chat/protocol.py that the "
                "handlers validate with; do not edit by hand.\n\n"
                "Perspective: the server application. Client frames (carrying `action`) are operations the server "
                "receives, with the direct reply, if any, as the operation's reply; server frames (carrying "
                "`type`) are operations the server sends.\n\n"
                "Every frame is one UTF-8 JSON object of at most "
                f"{MAX_FRAME_BYTES // 1024} KB. Unknown fields in client frames are refused with `bad_request`. "
                "Timestamps are ISO 8601 UTC with milliseconds, e.g. `2026-11-27T19:31:40.123Z`. A connection "
                "idle for 10 minutes is closed (send `ping` at least every 5 minutes) and lives at most 2 hours "
                "(reconnect and `sync`). Some actions are rate limited per user: a frame over the limit is "
                "answered with `error` `rate_limited` and `retryAfterMs` (docs/PROTOCOL.md lists the limits)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "{apiId}.execute-api.{region}.amazonaws.com",
                "pathname": "/{stage}",
                "protocol": "wss",
                "title": "AWS",
                "description": "The API Gateway WebSocket API of the deployed stack (stack output WebSocketUrl).",
                "variables": {
                    "apiId": {"description": "The WebSocket API's id."},
                    "region": {"description": "The AWS region of the stack.", "examples": ["us-east-1"]},
                    "stage": {"description": "The API stage.", "default": STAGE_NAME},
                },
                "security": [_ref("components", "securitySchemes", "token")],
            },
            "local": {
                "host": "127.0.0.1:{port}",
                "pathname": "/ws",
                "protocol": "ws",
                "title": "Local stack",
                "description": "`make dev` on a laptop: same frames, same rules. Tokens come from "
                '`GET http://127.0.0.1:{port}/dev/token?userId=<userId>`, which answers `{"token": "..."}`.',
                "variables": {"port": {"description": "The local stack's PORT.", "default": LOCAL_PORT}},
                "security": [_ref("components", "securitySchemes", "token")],
            },
        },
        "channels": {
            CHANNEL: {
                "title": "WebSocket connection",
                "description": "The connection itself: every frame in both directions travels over it, at the "
                "server's URL. A missing, malformed, expired or forged token, or a missing or invalid "
                "`deviceId`, refuses the handshake (HTTP 401 or 403). A user has at most "
                f"{MAX_CONNECTIONS_PER_USER} connections open at once: the handshake of one more is refused "
                "(HTTP 429 from the local stack) and nothing is stored; once one closes, the next is accepted.",
                "messages": channel_messages,
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "token": {
                                    "type": "string",
                                    "minLength": 1,
                                    "description": "A JWT: an ID token of the stack's Cognito user pool; locally, "
                                    "one from `/dev/token`. Its subject is the user id.",
                                },
                                "deviceId": {
                                    "type": "string",
                                    "pattern": DEVICE_ID.pattern,
                                    "description": "Stable per app install; a user may have many devices connected.",
                                },
                            },
                            "required": ["token", "deviceId"],
                        },
                        "bindingVersion": WS_BINDING_VERSION,
                    }
                },
            }
        },
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.schemas.items())),
            "messages": messages,
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "The `token` query parameter of the handshake (see the channel's ws binding).",
                }
            },
            "correlationIds": {
                "requestId": {
                    "description": "A client frame may carry `requestId` (1-64 characters); the server copies it "
                    "into its direct reply to that frame.",
                    "location": "$message.payload#/requestId",
                }
            },
        },
    }
    schemas.check_refs(document)
    return document


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)

HEADER = (
    "# Generated by scripts/generate_asyncapi.py from chat/protocol.py: do not edit by hand.\n"
    "# Regenerate with `.venv/bin/python scripts/generate_asyncapi.py`; "
    "validate with `node scripts/validate_asyncapi.mjs`.\n"
)


def render() -> str:
    body = yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be generated")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: docs/asyncapi.yaml")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True), "on disk", "generated", n=2
        )
        sys.stdout.writelines(diff)
        print(f"\n{args.output} is out of date: run .venv/bin/python scripts/generate_asyncapi.py", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
