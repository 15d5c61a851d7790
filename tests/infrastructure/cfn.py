"""Small readers for synthesized CloudFormation JSON."""

from __future__ import annotations

from typing import Any


def refs(value: Any) -> set[str]:
    """Logical ids referenced (Ref / Fn::GetAtt) anywhere in `value`; pseudo parameters excluded."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def get_atts(value: Any, attribute: str) -> set[str]:
    """Logical ids whose `attribute` is read with Fn::GetAtt anywhere in `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att[1] == attribute:
            found.add(att[0])
        for item in value.values():
            found |= get_atts(item, attribute)
    elif isinstance(value, list):
        for item in value:
            found |= get_atts(item, attribute)
    return found


def join_text(value: Any) -> str:
    """An Fn::Join flattened to text, references written as <LogicalId> / <LogicalId.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(join_text(part) for part in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
    raise AssertionError(f"not a string expression: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of_role(resources: dict[str, dict[str, Any]], role_id: str) -> list[dict[str, Any]]:
    """Every statement of every AWS::IAM::Policy attached to the role."""
    statements: list[dict[str, Any]] = []
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements
