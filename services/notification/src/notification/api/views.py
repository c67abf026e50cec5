"""Rows and domain objects -> response bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from servicekit.regions import timezone_of

from ..domain.model import Channel, DeliveryState, Preferences
from ..domain.policy import zone_label
from .schemas import (
    BroadcastOut,
    ChannelsOut,
    DeliveryOut,
    MessageOut,
    PreferencesOut,
    QuietHoursBody,
)

# where a learner this service has not heard of yet is taken to live
DEFAULT_ZONE = "Asia/Jakarta"


def message_out(row: Any) -> MessageOut:
    return MessageOut(
        message_id=row.message_id,
        title=row.title,
        body=row.body,
        event_type=row.event_type,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def delivery_out(row: Any) -> DeliveryOut:
    pending = row.state == DeliveryState.PENDING.value
    return DeliveryOut(
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        event_type=row.event_type,
        channel=row.channel,
        learner_id=row.learner_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def preferences_out(
    prefs: Preferences, village_code: str | None, available: Iterable[Channel]
) -> PreferencesOut:
    """Quiet hours are local time of the learner's village."""
    zone = timezone_of(village_code) if village_code else DEFAULT_ZONE
    quiet = prefs.quiet_hours
    return PreferencesOut(
        channels=ChannelsOut(email=prefs.email, sms=prefs.sms, whatsapp=prefs.whatsapp),
        reminders=prefs.reminders,
        quiet_hours=QuietHoursBody(start=quiet.start, end=quiet.end) if quiet else None,
        timezone=zone,
        timezone_label=zone_label(zone),
        available_channels=[c.value for c in available],
    )


def broadcast_out(row: Any) -> BroadcastOut:
    return BroadcastOut(
        broadcast_id=row.broadcast_id,
        region_code=row.region_code,
        course_id=row.course_id,
        inactive_days=row.inactive_days,
        title=row.title,
        state=row.state,
        total=row.total,
        sent=row.sent,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )
