"""What the events ask the notification service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import Audience, InboxOwner, Notification, QuietHours


@dataclass(frozen=True)
class RecordLearner:
    learner_id: uuid.UUID
    village_code: str
    full_name: str | None
    at: datetime


@dataclass(frozen=True)
class RecordContact:
    learner_id: uuid.UUID
    village_code: str
    full_name: str
    phone: str | None
    email: str | None
    at: datetime


@dataclass(frozen=True)
class RecordEnrollment:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    village_code: str
    course_id: uuid.UUID
    course_title: str
    starts_on: datetime | None
    enrolled_at: datetime


@dataclass(frozen=True)
class CloseEnrollment:
    """The enrollment ended (withdrawn or completed): no more reminders for it."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    state: str
    at: datetime


@dataclass(frozen=True)
class RecordActivity:
    learner_id: uuid.UUID
    village_code: str
    at: datetime


@dataclass(frozen=True)
class Notify:
    notification: Notification
    village_code: str


@dataclass(frozen=True)
class NotifyGrade:
    """Tell a learner a test's result: the event carries no course title, so it is the one
    of the enrollment this service learnt earlier."""

    notification: Notification
    village_code: str
    course_id: uuid.UUID


@dataclass(frozen=True)
class NotifyCertificate:
    """Tell a learner their certificate is issued, with the link that verifies it."""

    notification: Notification
    village_code: str
    verification_code: str


@dataclass(frozen=True)
class NotifyVersionChange:
    """Tell a learner their course now follows another version, unless a later move of the
    same enrollment was told already (moves may arrive late, or twice)."""

    notification: Notification
    village_code: str
    enrollment_id: uuid.UUID
    move_number: int


@dataclass(frozen=True)
class PostDigest:
    """Put the weekly digest of inactive learners in the inbox of a region's supervisors."""

    event_id: uuid.UUID
    region_code: str
    context: dict[str, Any]


@dataclass(frozen=True)
class SetPreferences:
    """A learner's wishes; None keeps what they had."""

    learner_id: uuid.UUID
    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = None
    reminders: bool | None = None
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True)
class MarkRead:
    owner: InboxOwner
    message_id: uuid.UUID


@dataclass(frozen=True)
class MarkAllRead:
    owner: InboxOwner


@dataclass(frozen=True)
class RetryDelivery:
    """Send a delivery that failed for good once more (after an address was fixed, say)."""

    delivery_id: uuid.UUID


@dataclass(frozen=True)
class SendBroadcast:
    """A supervisor's (or admin's) message to the learners of ``audience``, as a job."""

    broadcast_id: uuid.UUID
    sender: str
    audience: Audience
    title: str
    body: str
    at: datetime


@dataclass(frozen=True)
class SubscribeToDigest:
    """A supervisor wants their region's weekly digest by e-mail as well."""

    subject: str
    region_code: str
    email: str
    at: datetime
