"""Request and response bodies of the webhook bridge's API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

import lms_contracts as c
from servicekit.fields import LINE, RegionCode

from ..events.inbound import LEARNER_EVENTS

LEARNER_EVENT_TYPES = tuple(e.event_type for e in LEARNER_EVENTS)
# contact details, and who was shown them: for the platform alone (ADR 5, ADR 22)
PRIVATE_EVENT_TYPES = (c.LearnerContactChanged.event_type, c.LearnerContactsViewed.event_type)


def _event_type(value: str) -> str:
    if value in PRIVATE_EVENT_TYPES:
        raise PydanticCustomError(
            "private_event_type",
            "contact details are private: never delivered to regional systems",
        )
    if value not in LEARNER_EVENT_TYPES:
        raise PydanticCustomError(
            "learner_event_type",
            "not a learner event type; one of {expected}",
            {"expected": ", ".join(LEARNER_EVENT_TYPES)},
        )
    return value


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EventType = Annotated[
    str,
    Field(max_length=200, examples=[LEARNER_EVENT_TYPES[0]]),
    LINE,
    AfterValidator(_event_type),
]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(LEARNER_EVENT_TYPES) * 2),
    AfterValidator(_distinct),
]
Url = Annotated[
    str, Field(max_length=2000, examples=["https://sim.sultraprov.go.id/lms/hooks"]), LINE
]
Description = Annotated[str, Field(max_length=500), LINE]


class EndpointIn(BaseModel):
    """``event_types`` left out: every learner event type."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    region_code: RegionCode
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool = True


class EndpointPatch(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    region_code: RegionCode | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class SecretOut(BaseModel):
    """When a signing secret was made and when it stops signing (never the secret)."""

    secret_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    dead: int


class EndpointOut(BaseModel):
    endpoint_id: uuid.UUID
    url: str
    region_code: str
    event_types: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    secrets: list[SecretOut]
    deliveries: DeliveryCounts | None = None


class EndpointCreated(EndpointOut):
    secret: str = Field(description="the signing secret, shown this once")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    previous_expire_in_hours: float = Field(
        default=24.0, ge=0, le=720, description="how long the current secrets keep signing"
    )


class RotatedOut(BaseModel):
    secret_id: uuid.UUID
    secret: str = Field(description="the new signing secret, shown this once")
    previous_expire_at: datetime


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime
    until: AwareDatetime | None = None

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until < since:
            raise PydanticCustomError("until_before_since", "must not be before since")
        return until


class RedeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(default=None, description="dead letters queued since")


class Queued(BaseModel):
    queued: int


DeliveryStatusFilter = Literal["pending", "delivered", "dead"]


class DeliveryOut(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID = Field(description="also the webhook-id header of every attempt")
    event_type: str
    learner_id: uuid.UUID
    status: str
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    attempts_log: list[AttemptOut]
