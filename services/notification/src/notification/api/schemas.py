"""Request and response bodies of the notification API."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from servicekit.fields import LINE, TEXT, RegionCode


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError("email_invalid", "{reason}", {"reason": str(exc)}) from exc


Email = Annotated[str, Field(max_length=254), LINE, AfterValidator(_email)]


class MessageOut(BaseModel):
    message_id: uuid.UUID
    title: str
    body: str
    event_type: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[MessageOut]
    unread_count: int
    next_cursor: str | None = None


class MarkedRead(BaseModel):
    marked: int


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError("local_time", "a local time of the village, without an offset")
    return value


# A wall-clock time of the village, with no offset (JSON schema's ``format: time`` would
# require one): what is sent and what is served, "21:00" or "21:00:00".
LocalTime = Annotated[
    time,
    AfterValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"}),
]


class QuietHoursBody(BaseModel):
    """Local time of the learner's village (WIB, WITA or WIT); start == end turns them off."""

    model_config = ConfigDict(extra="forbid")

    start: LocalTime = Field(examples=["21:00"])
    end: LocalTime = Field(examples=["07:00"])


class ChannelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: Literal[True] | None = Field(default=None, description="the in-app inbox is always on")
    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = None


class PreferencesIn(BaseModel):
    """Fields left out keep their current value."""

    model_config = ConfigDict(extra="forbid")

    channels: ChannelsIn | None = None
    reminders: bool | None = None
    quiet_hours: QuietHoursBody | None = None


class ChannelsOut(BaseModel):
    inbox: bool = True
    email: bool
    sms: bool
    whatsapp: bool


class PreferencesOut(BaseModel):
    channels: ChannelsOut
    reminders: bool
    quiet_hours: QuietHoursBody | None
    timezone: str
    timezone_label: str
    available_channels: list[str]


DeliveryStateFilter = Literal["pending", "sent", "failed", "failed_permanent"]
ChannelFilter = Literal["email", "sms", "whatsapp"]


class DeliveryOut(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    channel: str
    learner_id: uuid.UUID | None = None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class BroadcastIn(BaseModel):
    """A message to the learners of a region who match the filter (all of them, those
    listed, those enrolled in a course, those inactive for some days; any combination)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=3, max_length=120), LINE]
    text: Annotated[str, Field(min_length=3, max_length=1000), TEXT]
    region_code: RegionCode | None = Field(
        default=None, description="default: the supervisor's region"
    )
    course_id: uuid.UUID | None = None
    inactive_days: int | None = Field(default=None, ge=1, le=365)
    learner_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class BroadcastOut(BaseModel):
    broadcast_id: uuid.UUID
    region_code: str
    course_id: uuid.UUID | None
    inactive_days: int | None
    title: str
    state: Literal["running", "done"]
    total: int
    sent: int
    created_at: datetime
    finished_at: datetime | None


class DigestSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class DigestSubscriptionOut(BaseModel):
    region_code: str
    email: str
