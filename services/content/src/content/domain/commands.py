"""What callers ask the content service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .model import CourseContent, OfflineCompletion


@dataclass(frozen=True)
class CreateCourse:
    code: str
    content: CourseContent
    author: str


@dataclass(frozen=True)
class ReviseCourse:
    course_id: uuid.UUID
    content: CourseContent
    # the lesson ids the author reused; they must belong to this course
    kept_lesson_ids: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True)
class PublishCourse:
    course_id: uuid.UUID
    # what a device may have to carry for the course: a version over it is not published
    budget_bytes: int


@dataclass(frozen=True)
class AttachDocument:
    """Its bytes are stored already (under ``sha256``); this records them in the course."""

    course_id: uuid.UUID
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    author: str


@dataclass(frozen=True)
class RecordEnrollment:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    enrolled_at: datetime


@dataclass(frozen=True)
class RecordWithdrawal:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: str
    withdrawn_at: datetime


@dataclass(frozen=True)
class RecordVersionChange:
    """The enrollment follows another version from now on (its ``move_number``-th move)."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    move_number: int


@dataclass(frozen=True)
class RecordPreTest:
    """The learner took the course's pre-test (whatever the result)."""

    learner_id: uuid.UUID
    course_id: uuid.UUID
    taken_at: datetime


@dataclass(frozen=True)
class CompleteLesson:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID


@dataclass(frozen=True)
class SyncProgress:
    learner_id: uuid.UUID
    items: tuple[OfflineCompletion, ...]
