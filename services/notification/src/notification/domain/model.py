"""What the notification service knows: channels, deliveries, learners' contacts and wishes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


# channels that leave the platform and are therefore delivered by the background worker
OUTBOUND = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)
# channels that wake a phone, deferred during the learner's quiet hours
INTRUSIVE = (Channel.SMS, Channel.WHATSAPP)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED_PERMANENT = "failed_permanent"


class Kind(StrEnum):
    """Which message a learner (or supervisor) receives; one template folder each."""

    WELCOME = "welcome"
    PRE_TEST_RESULT = "pre_test_result"
    PASSED = "passed"
    FAILED = "failed"
    CERTIFICATE = "certificate"
    CERTIFICATE_REVOKED = "certificate_revoked"
    EXTENSION_GRANTED = "extension_granted"
    WITHDRAWN = "withdrawn"
    VERSION_CHANGED = "version_changed"
    REMINDER = "reminder"
    DIGEST = "digest"
    COACHING = "coaching"


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock window; ``start > end`` wraps past midnight (21:00-07:00)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class Preferences:
    email: bool = True
    sms: bool = True
    whatsapp: bool = False
    reminders: bool = True
    quiet_hours: QuietHours | None = None

    def allows(self, channel: Channel) -> bool:
        return {
            Channel.INBOX: True,
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.WHATSAPP: self.whatsapp,
        }[channel]


@dataclass
class Recipient:
    learner_id: uuid.UUID
    village_code: str
    full_name: str | None = None
    phone: str | None = None
    email: str | None = None

    def address(self, channel: Channel) -> str | None:
        if channel is Channel.EMAIL:
            return self.email
        if channel in INTRUSIVE:
            return self.phone
        return str(self.learner_id)


@dataclass(frozen=True)
class InboxOwner:
    """Whose inbox: a learner's own messages, or the digests of a supervisor's region."""

    learner_id: uuid.UUID | None = None
    region_code: str | None = None


@dataclass(frozen=True)
class Rendered:
    """One message rendered for one channel: a title and a plain-text body (HTML optional)."""

    title: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class Notification:
    """A reason to tell a learner something, keyed by the event that caused it."""

    event_id: uuid.UUID
    event_type: str
    kind: Kind
    learner_id: uuid.UUID
    occurred_at: datetime
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedDelivery:
    """To a learner (at their address when it is sent), or to ``address`` (a supervisor)."""

    event_id: uuid.UUID
    event_type: str
    channel: Channel
    learner_id: uuid.UUID | None
    message: Rendered
    due_at: datetime
    address: str | None = None


@dataclass(frozen=True)
class Audience:
    """Whom a coaching message reaches: learners of a region (every one of them, or those
    listed), optionally only those enrolled (and active) in a course and inactive for days."""

    region_code: str
    course_id: uuid.UUID | None = None
    inactive_days: int | None = None
    learner_ids: tuple[uuid.UUID, ...] = ()
