"""Assessments, their questions and the attempts learners make at them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import AttemptFinished, InvalidField, NotEnrolled, OnlineOnly, PostTestLocked


class AssessmentKind(StrEnum):
    PRE_TEST = "pre_test"
    POST_TEST = "post_test"
    QUIZ = "quiz"


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"


CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class Match(StrEnum):
    EXACT = "exact"
    NORMALISED = "normalised"


class Review(StrEnum):
    """When a learner may see their answers beside the correct ones."""

    AFTER_LAST_ATTEMPT = "after_last_attempt"
    AFTER_EACH_ATTEMPT = "after_each_attempt"
    NEVER = "never"


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    GRADED = "graded"
    EXPIRED = "expired"
    # an offline paper of a course version the learner no longer follows: never graded, and
    # not counted among the attempts used
    VOID = "void"


@dataclass(frozen=True)
class Option:
    option_id: uuid.UUID
    text: str
    correct: bool


@dataclass(frozen=True)
class Question:
    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    points: int = 1
    options: tuple[Option, ...] = ()
    answer: bool | None = None
    accepted_answers: tuple[str, ...] = ()
    match: Match = Match.NORMALISED


@dataclass(frozen=True)
class Assessment:
    """One version of an assessment and its question bank; each attempt draws its paper from
    the version published when it starts, and keeps it. A published version never changes:
    an edit is the next version, a draft until it is published in its place."""

    assessment_id: uuid.UUID
    course_id: uuid.UUID
    kind: AssessmentKind
    title: str
    pass_score: float
    max_attempts: int | None
    time_limit_seconds: int | None
    questions_drawn: int | None
    shuffle_questions: bool
    shuffle_options: bool
    questions: tuple[Question, ...]
    created_at: datetime
    version: int = 1
    status: VersionStatus = VersionStatus.PUBLISHED
    review: Review = Review.AFTER_LAST_ATTEMPT
    # may be taken as a paper, answered without a connection and graded when it is synced
    allow_offline: bool = False

    def question(self, question_id: uuid.UUID) -> Question | None:
        return next((q for q in self.questions if q.question_id == question_id), None)

    def require_offline(self) -> None:
        """Untimed assessments the author let go offline: a time limit needs the server's
        clock at both ends."""
        if self.time_limit_seconds is not None:
            raise OnlineOnly("a timed assessment is taken online, where its time is kept")
        if not self.allow_offline:
            raise OnlineOnly(f"this {self.kind} is taken online")


def offline_by_default(kind: AssessmentKind, time_limit_seconds: int | None) -> bool:
    """Untimed pre-tests and quizzes go offline unless the author says otherwise; post-tests,
    which complete a course, stay online unless the author allows it."""
    return kind != AssessmentKind.POST_TEST and time_limit_seconds is None


@dataclass(frozen=True)
class DrawnQuestion:
    """One question on an attempt's paper, with its options in the order the learner sees."""

    question_id: uuid.UUID
    option_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Answer:
    question_id: uuid.UUID
    option_ids: tuple[uuid.UUID, ...] | None = None
    value: bool | None = None
    text: str | None = None


@dataclass
class Attempt:
    attempt_id: uuid.UUID
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: str
    attempt_number: int
    seed: int
    paper: tuple[DrawnQuestion, ...]
    started_at: datetime
    expires_at: datetime | None
    status: AttemptStatus = AttemptStatus.IN_PROGRESS
    # the version of the assessment its paper was drawn from
    assessment_version: int = 1
    answers: tuple[Answer, ...] = ()
    points: float | None = None
    max_points: float | None = None
    score: float | None = None
    passed: bool | None = None
    graded_at: datetime | None = None
    # taken as a paper; the course version the learner followed when it was issued
    offline: bool = False
    course_version: int | None = None
    # when the learner finished it, on their device's clock and in its time zone
    answered_at: datetime | None = None

    @property
    def counts(self) -> bool:
        """Counts among the attempts used (a void paper does not)."""
        return self.status != AttemptStatus.VOID

    def void(self) -> None:
        self.status = AttemptStatus.VOID

    def record_answered_at(
        self, answered_at: datetime | None, now: datetime, skew: timedelta
    ) -> None:
        """The device's time, kept as sent: not later than now, nor before the paper was
        issued (beyond the clocks' ``skew``)."""
        if answered_at is None:
            return
        if answered_at > now + skew:
            raise InvalidField("answered_at", "is later than the server's clock")
        if answered_at < self.started_at - skew:
            raise InvalidField("answered_at", "is before the paper was issued")
        self.answered_at = answered_at

    def is_open(self, now: datetime) -> bool:
        """May still be resumed: in progress and its time not yet up."""
        return self.status == AttemptStatus.IN_PROGRESS and (
            self.expires_at is None or now <= self.expires_at
        )

    def is_late(self, now: datetime, grace: timedelta) -> bool:
        """Past its time limit by more than the grace allowed for slow networks."""
        return self.expires_at is not None and now > self.expires_at + grace

    def record_grade(
        self,
        answers: tuple[Answer, ...],
        points: float,
        max_points: float,
        pass_score: float,
        now: datetime,
    ) -> None:
        self.answers = answers
        self.points, self.max_points = points, max_points
        self.score = score_of(points, max_points)
        self.passed = self.score >= pass_score
        self.status = AttemptStatus.GRADED
        self.graded_at = now

    def extend(self, seconds: int, now: datetime) -> None:
        """More time for an attempt still running (a blackout, a disability): its limit moves."""
        if not self.is_open(now):
            raise AttemptFinished("the attempt is finished (or its time is up): nothing to extend")
        if self.expires_at is None:
            raise InvalidField("attempt_id", "the attempt has no time limit to extend")
        self.expires_at += timedelta(seconds=seconds)

    def expire(self, max_points: float, now: datetime) -> None:
        """Time ran out: whatever was (or was not) sent counts as zero."""
        self.answers = ()
        self.points, self.max_points = 0.0, max_points
        self.score, self.passed = 0.0, False
        self.status = AttemptStatus.EXPIRED
        self.graded_at = now


def score_of(points: float, max_points: float) -> float:
    return round(100.0 * points / max_points, 2) if max_points > 0 else 0.0


@dataclass(frozen=True)
class CourseVersion:
    course_id: uuid.UUID
    version: int
    required_lesson_ids: frozenset[uuid.UUID]
    # every lesson in course order, with its title (empty for versions learnt before titles)
    lessons: tuple[tuple[uuid.UUID, str], ...] = ()

    def missing(self, done: frozenset[uuid.UUID]) -> list[tuple[uuid.UUID, str | None]]:
        """The required lessons not in ``done``, in course order, with their titles."""
        titles = dict(self.lessons)
        order = [x for x, _ in self.lessons] + sorted(self.required_lesson_ids - set(titles))
        return [
            (x, titles.get(x)) for x in order if x in self.required_lesson_ids and x not in done
        ]


@dataclass(frozen=True)
class LearnerEnrollment:
    """What this service knows of a learner in a course, learnt from events."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    course_version: int
    village_code: str
    completed_lesson_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)

    def require_open(self, kind: AssessmentKind, course: CourseVersion | None) -> None:
        """Pre-tests and quizzes open at enrollment; the post-test after every required lesson
        of the learner's own course version."""
        if kind != AssessmentKind.POST_TEST:
            return
        if course is None:
            raise PostTestLocked(None)
        missing = course.missing(self.completed_lesson_ids)
        if missing:
            raise PostTestLocked(missing)


def require_enrolled(enrollment: LearnerEnrollment | None) -> LearnerEnrollment:
    if enrollment is None:
        raise NotEnrolled("you are not enrolled in this assessment's course")
    return enrollment


@dataclass(frozen=True)
class Grant:
    """More for one learner, by an instructor, with a reason: attempts, or time on one."""

    grant_id: uuid.UUID
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID
    village_code: str
    extra_attempts: int
    extra_seconds: int
    reason: str
    granted_by: str
    granted_at: datetime
    attempt_id: uuid.UUID | None = None


def attempts_allowed(assessment: Assessment, extra: int) -> int | None:
    """The learner's limit: the assessment's, plus what instructors granted them."""
    return None if assessment.max_attempts is None else assessment.max_attempts + extra


def may_review(assessment: Assessment, attempt: Attempt, used: int, allowed: int | None) -> bool:
    """A finished attempt may be reviewed as the assessment says: after each, or once no
    attempt is left (never while another could still be taken)."""
    if attempt.status in (AttemptStatus.IN_PROGRESS, AttemptStatus.VOID):
        return False
    if assessment.review == Review.NEVER:
        return False
    if assessment.review == Review.AFTER_EACH_ATTEMPT:
        return True
    return allowed is not None and used >= allowed
