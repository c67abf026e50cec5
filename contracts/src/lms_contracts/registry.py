"""Turn a message back into a typed event, and name the subject of an event."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .envelope import CloudEvent, EventData
from .subjects import subject_for
from .v1 import EVENTS

EVENT_TYPES: dict[str, type[EventData]] = {event.event_type: event for event in EVENTS}


class UnknownEventType(ValueError):
    pass


class MalformedEvent(ValueError):
    pass


def parse_event(message: bytes | str | dict[str, Any]) -> CloudEvent[EventData]:
    """Parse a structured-mode CloudEvent into an envelope holding its typed payload."""
    try:
        raw = json.loads(message) if isinstance(message, bytes | str) else message
    except json.JSONDecodeError as exc:
        raise MalformedEvent(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent("a CloudEvent must be a JSON object")
    event_type = raw.get("type")
    data_class = EVENT_TYPES.get(str(event_type))
    if data_class is None:
        raise UnknownEventType(f"unknown event type: {event_type!r}")
    try:
        return CloudEvent[data_class].model_validate(raw)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise MalformedEvent(str(exc)) from exc


def subject_of(data: EventData) -> str:
    """The NATS subject ``data`` is published on."""
    return subject_for(data.event_type, data.region_code())
