"""Request and response bodies of the notification API."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema


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
        raise ValueError("a local time of the village, without an offset")
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
    learner_id: uuid.UUID
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
