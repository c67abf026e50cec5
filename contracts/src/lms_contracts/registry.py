"""Turn a message back into a typed event, and name the subject of an event."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from .envelope import CloudEvent, EventData
from .subjects import subject_for
from .v1 import EVENTS, CoursePublished

EVENT_TYPES: dict[str, type[EventData]] = {event.event_type: event for event in EVENTS}
# what a regional system may read: its region's learner events, and the course catalog
REGIONAL_EVENTS: tuple[type[EventData], ...] = tuple(event for event in EVENTS if event.regional)
CATALOG_EVENTS: tuple[type[EventData], ...] = (CoursePublished,)
ENVELOPES: dict[bytes, type[CloudEvent[Any]]] = {
    name.encode(): CloudEvent[event]  # type: ignore[valid-type]
    for name, event in EVENT_TYPES.items()
}
_TYPE = re.compile(rb'"type"\s*:\s*"([^"\\]+)"')


class UnknownEventType(ValueError):
    pass


class MalformedEvent(ValueError):
    pass


def parse_event(message: bytes | str | dict[str, Any]) -> CloudEvent[EventData]:
    """Parse a structured-mode CloudEvent into an envelope holding its typed payload."""
    if isinstance(message, bytes):
        parsed = _parse_fast(message)
        if parsed is not None:
            return parsed
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


def _parse_fast(message: bytes) -> CloudEvent[EventData] | None:
    """Validate straight from the bytes when the first ``type`` names a known event; None
    (the careful path decides) for anything else, so errors are reported the same way."""
    found = _TYPE.search(message)
    envelope = ENVELOPES.get(found.group(1)) if found else None
    if found is None or envelope is None:
        return None
    try:
        event = envelope.model_validate_json(message)
    except ValidationError:
        return None
    return event if event.type.encode() == found.group(1) else None


def subject_of(data: EventData) -> str:
    """The NATS subject ``data`` is published on."""
    return subject_for(data.event_type, data.region_code())
