"""What the events ask the notification service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .model import Notification


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
