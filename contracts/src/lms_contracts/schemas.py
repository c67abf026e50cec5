"""JSON Schema snapshots of the v1 payloads and the rule that keeps v1 add-only.

``python -m lms_contracts.schemas write DIR`` refreshes the committed snapshots; it refuses a
breaking change, which belongs in a new major version (``.v2``) published beside v1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .envelope import EventData
from .v1 import EVENTS


def snapshot_name(event: type[EventData]) -> str:
    return event.event_type.removeprefix("lms.") + ".json"


def schema_of(event: type[EventData]) -> dict[str, Any]:
    schema = event.model_json_schema(mode="serialization")
    schema["x-event-type"] = event.event_type
    schema["x-minor-version"] = event.minor_version
    return schema


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return _resolve(schema, schema["$defs"][ref.rsplit("/", 1)[-1]])
    return node


def _shape(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """A comparable description of a property's type, ignoring titles and descriptions."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        return sorted((_shape(schema, option) for option in node["anyOf"]), key=json.dumps)
    shape: dict[str, Any] = {
        key: node[key] for key in ("type", "format", "enum", "pattern") if key in node
    }
    if "items" in node:
        shape["items"] = _shape(schema, node["items"])
    return shape


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What makes ``new`` unreadable for a consumer of ``old`` or unwritable for its producer."""
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, prop in old_props.items():
        if name not in new_props:
            problems.append(f"field removed: {name}")
        elif _shape(old, prop) != _shape(new, new_props[name]):
            old_enum = _resolve(old, prop).get("enum")
            new_enum = _resolve(new, new_props[name]).get("enum")
            if old_enum and new_enum and set(old_enum) <= set(new_enum):
                continue  # an enum may gain values
            problems.append(f"field retyped: {name}")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"new required field: {name}")
    if new.get("x-event-type") != old.get("x-event-type"):
        problems.append("event type renamed")
    return problems


def write_snapshots(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    refused = []
    for event in EVENTS:
        path = directory / snapshot_name(event)
        schema = schema_of(event)
        if path.exists():
            problems = breaking_changes(json.loads(path.read_text()), schema)
            if problems:
                refused.append(f"{event.event_type}: {', '.join(problems)}")
                continue
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    return refused


if __name__ == "__main__":  # pragma: no cover - developer command
    if len(sys.argv) != 3 or sys.argv[1] != "write":
        sys.exit("usage: python -m lms_contracts.schemas write DIR")
    refused = write_snapshots(Path(sys.argv[2]))
    for line in refused:
        print("refused (breaking, needs a v2):", line, file=sys.stderr)
    sys.exit(1 if refused else 0)
