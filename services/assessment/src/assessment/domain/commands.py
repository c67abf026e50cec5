"""What callers ask the assessment service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Answer, AssessmentKind, Match, QuestionKind, Review


@dataclass(frozen=True)
class NewOption:
    text: str
    correct: bool = False


@dataclass(frozen=True)
class NewQuestion:
    kind: QuestionKind
    prompt: str
    points: int = 1
    options: tuple[NewOption, ...] | None = None
    answer: bool | None = None
    accepted_answers: tuple[str, ...] | None = None
    match: Match | None = None


@dataclass(frozen=True)
class CreateAssessment:
    course_id: uuid.UUID
    kind: AssessmentKind
    title: str
    pass_score: float
    max_attempts: int | None
    time_limit_seconds: int | None
    questions_drawn: int | None
    shuffle_questions: bool
    shuffle_options: bool
    questions: tuple[NewQuestion, ...]
    # the author's subject, kept with the assessment
    created_by: str = ""
    review: Review = Review.AFTER_LAST_ATTEMPT
    # None: untimed pre-tests and quizzes may go offline, post-tests may not
    allow_offline: bool | None = None


@dataclass(frozen=True)
class ReviseAssessment:
    """Write the next version as a draft (or change the draft); its course and kind stay."""

    assessment_id: uuid.UUID
    changes: CreateAssessment


@dataclass(frozen=True)
class PublishAssessment:
    """The draft replaces the published version for every attempt started from now on."""

    assessment_id: uuid.UUID


@dataclass(frozen=True)
class GrantAttempts:
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    extra_attempts: int
    reason: str
    granted_by: str


@dataclass(frozen=True)
class GrantTime:
    attempt_id: uuid.UUID
    extra_seconds: int
    reason: str
    granted_by: str


@dataclass(frozen=True)
class StartAttempt:
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    # draws the paper of a new attempt; a resumed attempt keeps its own
    seed: int
    # to be answered without a connection (a paper) and submitted later
    offline: bool = False


@dataclass(frozen=True)
class SubmitAttempt:
    attempt_id: uuid.UUID
    learner_id: uuid.UUID
    answers: tuple[Answer, ...]
    # how late after the time limit a submission is still graded (slow village networks)
    grace: timedelta
    # when the learner finished, on the device's clock (with its offset)
    answered_at: datetime | None = None
    # how far a device's clock may be ahead of the server's
    clock_skew: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class ExpireOverdue:
    """Close, as zero, attempts whose time and ``grace`` ran out without a submission."""

    grace: timedelta
    limit: int = 500


@dataclass(frozen=True)
class RecordCoursePublished:
    course_id: uuid.UUID
    version: int
    required_lesson_ids: tuple[uuid.UUID, ...]
    lessons: tuple[tuple[uuid.UUID, str], ...] = ()


@dataclass(frozen=True)
class RecordEnrolled:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    enrolled_at: datetime


@dataclass(frozen=True)
class RecordVersionChange:
    """The enrollment follows another course version from now on (its ``move_number``-th
    move): the post-test opens after that version's required lessons."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    move_number: int


@dataclass(frozen=True)
class RecordWithdrawn:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: str
    withdrawn_at: datetime


@dataclass(frozen=True)
class RecordLessonCompleted:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    village_code: str
    completed_at: datetime
