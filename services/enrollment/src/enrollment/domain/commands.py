"""What callers ask the enrollment service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from .completion import CompletionRules
from .model import Position, Viewer


@dataclass(frozen=True)
class RegisterLearner:
    full_name: str
    position: Position
    village_code: str
    phone: str | None = None
    email: str | None = None
    # the keyed hash of the national ID (NIK): the NIK itself never gets past the HTTP edge
    nik_hash: str | None = None


@dataclass(frozen=True)
class UpdateLearner:
    learner_id: uuid.UUID
    full_name: str | None = None
    position: Position | None = None
    village_code: str | None = None
    phone: str | None = None
    email: str | None = None
    clear_phone: bool = False
    clear_email: bool = False


@dataclass(frozen=True)
class RecordContactReads:
    """An answer shows ``viewer`` the contact details of ``learner_ids``: log the read."""

    viewer: Viewer
    learner_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class EnrollLearner:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    cohort: str | None = None


@dataclass(frozen=True)
class RowRefused:
    """A row of an upload that names no learner the import can register: why, and which
    column."""

    row_number: int
    field: str
    reason: str


@dataclass(frozen=True)
class StartImport:
    """Register the learners of an uploaded file (each under its row number, the header being
    row 1) as a background job, and enroll each in ``course_id`` if one is given; the rows the
    edge refused are kept as skipped, with their reasons."""

    job_id: uuid.UUID
    region_code: str
    rows: tuple[tuple[int, RegisterLearner], ...]
    refused: tuple[RowRefused, ...]
    requested_by: str
    course_id: uuid.UUID | None = None
    cohort: str | None = None
    # the language the uploader reads: reasons the job gives later are written in it
    language: str = "id"


@dataclass(frozen=True)
class ImportRows:
    """A chunk of an import job: register each learner unless they are known (by NIK, else by
    the natural key), then enroll them if the job names a course."""

    rows: tuple[RegisterLearner, ...]
    course_id: uuid.UUID | None = None
    cohort: str | None = None


@dataclass(frozen=True)
class CancelJob:
    job_id: uuid.UUID


@dataclass(frozen=True)
class Withdraw:
    enrollment_id: uuid.UUID
    reason: str | None = None


@dataclass(frozen=True)
class CreateCohort:
    course_id: uuid.UUID
    name: str
    enrollment_opens_at: datetime | None = None
    enrollment_closes_at: datetime | None = None
    region_code: str | None = None


@dataclass(frozen=True)
class StartBulkEnrollment:
    """Enroll every learner of a region (and positions) in a course as a background job; the
    caller names the job so that it can point at it before the job has run."""

    job_id: uuid.UUID
    course_id: uuid.UUID
    region_code: str
    positions: tuple[Position, ...]
    cohort: str | None
    requested_by: str
    max_learners: int


@dataclass(frozen=True)
class MoveToVersion:
    """Move a learner's active enrollment in a course to another published version."""

    learner_id: uuid.UUID
    course_id: uuid.UUID
    version: int


@dataclass(frozen=True)
class StartVersionMove:
    """Move every unfinished learner of a course (of one cohort, if given) to a published
    version, as a background job named by the caller."""

    job_id: uuid.UUID
    course_id: uuid.UUID
    version: int
    cohort: str | None
    requested_by: str


@dataclass(frozen=True)
class RecordCoursePublished:
    course_id: uuid.UUID
    version: int
    title: str
    code: str
    required_lesson_ids: tuple[uuid.UUID, ...]
    published_at: datetime
    lesson_ids: tuple[uuid.UUID, ...] = ()
    lesson_titles: tuple[tuple[uuid.UUID, str], ...] = ()
    rules: CompletionRules = field(default_factory=CompletionRules)
    training_hours: int | None = None


@dataclass(frozen=True)
class RecordLessonCompleted:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    completed_at: datetime


@dataclass(frozen=True)
class LessonDone:
    """One lesson completion of a batch, with the id of the event that told it."""

    event_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    completed_at: datetime


@dataclass(frozen=True)
class RecordLessonsCompleted:
    """A batch's lesson completions, in the order they arrived (duplicates and all)."""

    lessons: tuple[LessonDone, ...]


@dataclass(frozen=True)
class RecordPreTestTaken:
    """The learner took the course's pre-test, passed or not."""

    learner_id: uuid.UUID
    course_id: uuid.UUID
    taken_at: datetime


@dataclass(frozen=True)
class RecordPostTestPassed:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    score: float
    passed_at: datetime


@dataclass(frozen=True)
class RevokeCertificate:
    verification_code: str
    reason: str
    revoked_by: str
