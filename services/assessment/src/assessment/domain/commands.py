"""What callers ask the assessment service to do (imperative)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .model import Answer, AssessmentKind, Match, QuestionKind


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


@dataclass(frozen=True)
class StartAttempt:
    assessment_id: uuid.UUID
    learner_id: uuid.UUID


@dataclass(frozen=True)
class SubmitAttempt:
    attempt_id: uuid.UUID
    learner_id: uuid.UUID
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class RecordCoursePublished:
    course_id: uuid.UUID
    version: int
    required_lesson_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class RecordEnrolled:
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    enrolled_at: datetime


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
