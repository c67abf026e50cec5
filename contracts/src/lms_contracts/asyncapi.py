"""The AsyncAPI 3.0 document of every LMS event, generated from the payload models, with an
example of each (``lms_contracts.examples``).

Every service serves it at ``/asyncapi.json`` and as a page at ``/asyncapi``
(:mod:`lms_contracts.asyncapi_page`). ``python -m lms_contracts.asyncapi
contracts/asyncapi.json`` rewrites the committed copy; a test fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .envelope import EventData
from .examples import EXAMPLES, example_subject
from .schemas import schema_of
from .v1 import EVENTS

REGION_PARAMETERS = {
    "province": {"description": "2-digit province code, e.g. 74"},
    "regency": {"description": "2-digit regency code within the province, e.g. 01"},
    "district": {"description": "2-digit district code, e.g. 01"},
    "village": {"description": "4-digit village code, e.g. 2006"},
}


def _envelope(event: type[EventData]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "source", "type", "specversion", "time", "datacontenttype", "data"],
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "also the Nats-Msg-Id header",
            },
            "source": {"type": "string", "const": f"/lms/{event.producer}"},
            "type": {"type": "string", "const": event.event_type},
            "specversion": {"type": "string", "const": "1.0"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "minorversion": {"type": "integer"},
            "correlationid": {"type": "string"},
            "causationid": {"type": "string"},
            "data": {"$ref": f"#/components/schemas/{_name(event)}"},
        },
    }


def _name(event: type[EventData]) -> str:
    return event.__name__


def _example(event: type[EventData]) -> dict[str, Any]:
    example = EXAMPLES[event]
    return {
        "name": f"{_name(event)}Example",
        "summary": f"on {example_subject(event)}",
        "headers": {"Nats-Msg-Id": str(example.id)},
        "payload": json.loads(example.to_json()),
    }


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event in EVENTS:
        name = _name(event)
        schema = schema_of(event)
        for key, definition in schema.pop("$defs", {}).items():
            schemas[key] = definition
        schemas[name] = json.loads(json.dumps(schema).replace("#/$defs/", "#/components/schemas/"))
        messages[name] = {
            "name": event.event_type,
            "contentType": "application/cloudevents+json",
            "payload": _envelope(event),
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string"},
                    "traceparent": {"type": "string"},
                },
            },
            "examples": [_example(event)],
        }
        channel: dict[str, Any] = {
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "description": (
                "Learner event: subject ends with the learner's village code."
                if event.regional
                else "No region suffix."
                + (
                    ""
                    if event.event_type.endswith("course-published.v1")
                    else " Not readable by regional systems."
                )
            ),
        }
        if event.regional:
            channel["address"] = event.event_type + ".{province}.{regency}.{district}.{village}"
            channel["parameters"] = REGION_PARAMETERS
        else:
            channel["address"] = event.event_type
        channels[name] = channel
        operations[f"receive{name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "LMS Pamong Desa events",
            "version": "1",
            "description": "CloudEvents 1.0 (structured JSON) on NATS JetStream, stream LMS. "
            "A province subscribes to lms.*.*.v1.<PP>.>, a regency to "
            "lms.*.*.v1.<PP>.<KK>.>, each on its own durable consumer (region-<PP>, "
            "region-<PP>-<KK>); the course catalog on region-<PP>-catalog. Payloads only grow "
            "within a major version, and new v1 event types may appear: skip what you do not "
            "know. The subscriber kit (pip install 'lms-contracts[subscriber]') does both.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"production": {"host": "nats.lms.example:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - developer command
    Path(sys.argv[1] if len(sys.argv) > 1 else "asyncapi.json").write_text(render())
