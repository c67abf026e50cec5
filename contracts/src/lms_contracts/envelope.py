"""CloudEvents 1.0 structured-mode envelope used on every LMS subject."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class EventData(BaseModel):
    """Base of every event payload.

    Subclasses declare their CloudEvents ``type`` and whether they are learner events, which
    are published on a subject suffixed with the learner's village code so that regional
    systems can subscribe to their own region only.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    producer: ClassVar[str]
    minor_version: ClassVar[int] = 0
    regional: ClassVar[bool] = True

    def region_code(self) -> str | None:
        """The village code that places this event on a regional subject."""
        return getattr(self, "village_code", None) if self.regional else None


D = TypeVar("D", bound=EventData)


class CloudEvent(BaseModel, Generic[D]):
    """A CloudEvents 1.0 event in structured JSON mode."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: uuid.UUID
    source: str
    type: str
    specversion: str = SPEC_VERSION
    time: datetime
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    minorversion: int = 0
    correlationid: str | None = None
    causationid: str | None = None
    # CloudEvents distributed-tracing extension: the W3C trace context of the work that
    # produced the event (not validated: a malformed one must not make the event unreadable)
    traceparent: str | None = None
    data: D

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a UTC offset")
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def new_event(
    data: D,
    *,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> CloudEvent[D]:
    """Build the envelope for ``data``: callers pass only the payload and the causal chain."""
    event_id = event_id or uuid.uuid4()
    return CloudEvent[type(data)](  # type: ignore[misc,operator]
        id=event_id,
        source=f"/lms/{data.producer}",
        type=data.event_type,
        time=time or datetime.now(UTC),
        subject=subject,
        minorversion=data.minor_version,
        correlationid=correlation_id or str(event_id),
        causationid=causation_id,
        traceparent=traceparent,
        data=data,
    )
