"""Request and response bodies of the notification API."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


class QuietHoursBody(BaseModel):
    """Local time of the learner's village (WIB, WITA or WIT); start == end turns them off."""

    model_config = ConfigDict(extra="forbid")

    start: time = Field(examples=["21:00"])
    end: time = Field(examples=["07:00"])


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
