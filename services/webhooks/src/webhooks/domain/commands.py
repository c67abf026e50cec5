"""What callers ask of the webhook bridge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RegisterEndpoint:
    url: str
    region_code: str
    event_types: tuple[str, ...]
    description: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ChangeEndpoint:
    """Fields left None keep their value."""

    endpoint_id: uuid.UUID
    url: str | None = None
    region_code: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class RemoveEndpoint:
    endpoint_id: uuid.UUID


@dataclass(frozen=True)
class RotateSecret:
    """A new secret signs from now on; the current ones keep signing for ``overlap``."""

    endpoint_id: uuid.UUID
    overlap: timedelta


@dataclass(frozen=True)
class RecordEvent:
    """A learner event received from the stream: kept for replays, queued for every endpoint
    whose region and event types it matches."""

    event_id: uuid.UUID
    event_type: str
    learner_id: uuid.UUID
    village_code: str
    occurred_at: datetime
    body: str


@dataclass(frozen=True)
class RecordEvents:
    """A batch's learner events, in the order the stream delivered them."""

    events: tuple[RecordEvent, ...]


@dataclass(frozen=True)
class Replay:
    """Queue again every kept event of the endpoint's region and types since ``since``."""

    endpoint_id: uuid.UUID
    since: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class Redeliver:
    """One dead letter, queued again."""

    endpoint_id: uuid.UUID
    delivery_id: uuid.UUID


@dataclass(frozen=True)
class RedeliverDeadLetters:
    """Every dead letter of the endpoint (queued since ``since``, if given), queued again."""

    endpoint_id: uuid.UUID
    since: datetime | None = None
