"""docs/asyncapi.yaml as tests read it: the document, and a payload's schema as a draft-07 validator."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@cache
def schema_validator(model_name: str) -> jsonschema.Draft7Validator:
    """The payload schema of the model named so, as AsyncAPI's default (draft-07 based) format reads it."""
    schemas = document()["components"]["schemas"]
    root = {"allOf": [{"$ref": f"#/components/schemas/{model_name}"}], "components": {"schemas": schemas}}
    jsonschema.Draft7Validator.check_schema(root)
    return jsonschema.Draft7Validator(root)
