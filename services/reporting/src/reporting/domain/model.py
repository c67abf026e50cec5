"""Read-model rows and what each contributes to the rollups.

A batch of events changes some learner and enrollment rows. Each row contributes counters to
the rollups of its region (at every level), course, cohort and position, and one to the
activity bucket of the day it was last active; the rollups change by the difference between
what the changed rows contribute after the batch and before it (``rollups.py``). That makes
every update cost the same whatever the history, keeps counts exact however the events are
ordered (every field below is set by a commutative rule: a flag that only turns on, a maximum,
the value of the latest timestamp), and moves a learner's counts along when they change
village.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

NO_COURSE = uuid.UUID(int=0)
Key = tuple[str, uuid.UUID, str, str]  # region_code, course_id, cohort, position
ActivityKey = tuple[str, uuid.UUID, str, str, date]
# The rollup counters, in the order a contribution lists them.
COUNTERS = (
    "registered",
    "enrolled",
    "withdrawn",
    "completed",
    "passed",
    "certified",
    "pre_test_sum",
    "pre_test_count",
    "post_test_sum",
    "post_test_count",
    "improvement_sum",
    "improvement_count",
    "failed",
    "revoked",
)
Counters = tuple[int, ...]
REGISTERED: Counters = (1,) + (0,) * (len(COUNTERS) - 1)
WITHDRAWN: Counters = (0, 0, 1) + (0,) * (len(COUNTERS) - 3)
# Activity buckets are kept for the levels whose reports sum many learners (nation, province,
# regency: code prefixes of these lengths); district and village reports count their few
# learners' rows instead, which keeps a batch from touching a bucket per village it saw.
ACTIVITY_PREFIXES = (0, 2, 5)

# Scores are kept as sums of hundredths of a point: integers add and subtract exactly, so a
# rollup never drifts and a rebuild gives the very same numbers.
SCALE = 100


def region_levels(village_code: str) -> list[str]:
    """``74.01.01.2006`` -> the nation, province, regency, district and village codes."""
    return ["", village_code[:2], village_code[:5], village_code[:8], village_code]


def points(score: float) -> int:
    return round(score * SCALE)


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def day_of(moment: datetime | None) -> date | None:
    """The UTC day, whatever offset the event carried: the database reads it back in UTC."""
    if moment is None:
        return None
    return (moment.astimezone(UTC) if moment.tzinfo is not None else moment).date()


class Contribution(NamedTuple):
    key: Key
    counters: Counters
    active_on: date | None


class CourseVersion(NamedTuple):
    """A published version of a course, in the order of the ``courses`` columns."""

    course_id: uuid.UUID
    version: int
    code: str
    title: str
    lessons: int
    required_lessons: int
    lesson_ids: list[uuid.UUID]


class Contact(NamedTuple):
    """A learner's phone and e-mail as of ``changed_at``, in the order of the ``contacts``
    columns."""

    learner_id: uuid.UUID
    phone: str | None
    email: str | None
    changed_at: datetime


@dataclass
class LearnerRow:
    learner_id: uuid.UUID
    full_name: str | None = None
    village_code: str | None = None
    position: str | None = None
    registered: bool = False
    profile_at: datetime | None = None
    last_activity_at: datetime | None = None

    def take_profile(
        self, full_name: str, village_code: str, position: str, at: datetime, registered: bool
    ) -> None:
        """Keep the newest profile, whatever order registration and updates arrive in."""
        self.registered = self.registered or registered
        if self.profile_at is None or at >= self.profile_at:
            self.full_name, self.village_code, self.position = full_name, village_code, position
            self.profile_at = at

    def assume_place(self, village_code: str, position: str | None) -> None:
        """Where an enrollment event says the learner is, until their own profile arrives."""
        if self.profile_at is None:
            self.village_code = village_code
            self.position = position or self.position

    def state(self) -> tuple[object, ...]:
        """What is stored of the row: equal states need no write."""
        return (
            self.full_name,
            self.village_code,
            self.position,
            self.registered,
            self.profile_at,
            self.last_activity_at,
        )

    def contribution(self) -> Contribution | None:
        if not self.registered or not self.village_code:
            return None
        key = (self.village_code, NO_COURSE, "", self.position or "")
        return Contribution(key, REGISTERED, day_of(self.last_activity_at))


@dataclass
class EnrollmentRow:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    enrollment_id: uuid.UUID | None = None
    course_version: int | None = None
    course_title: str | None = None
    cohort: str = ""
    village_code: str | None = None
    position: str | None = None
    enrolled_at: datetime | None = None
    withdrawn_id: uuid.UUID | None = None
    withdrawn_at: datetime | None = None
    pre_test_score: float | None = None
    pre_test_attempt: int | None = None
    post_test_score: float | None = None
    passed: bool = False
    completed: bool = False
    certified: bool = False
    revoked: bool = False
    last_activity_at: datetime | None = None
    # the latest move to another course version: its enrollment, number and version
    moved_id: uuid.UUID | None = None
    version_move: int = 0
    moved_version: int | None = None
    certificate_code: str | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrollment_id is not None

    @property
    def withdrawn(self) -> bool:
        """Withdrawn from the current enrollment (a later re-enrollment clears it)."""
        return self.enrolled and self.withdrawn_id == self.enrollment_id

    def enroll(self, enrollment_id: uuid.UUID, at: datetime, cohort: str | None) -> bool:
        """Take the newest enrollment of this learner in this course; False if older."""
        if self.enrolled_at is not None and at < self.enrolled_at:
            return False
        self.enrollment_id, self.enrolled_at, self.cohort = enrollment_id, at, cohort or ""
        return True

    def move(self, enrollment_id: uuid.UUID, version: int, number: int, at: datetime) -> None:
        """Follow the version of the enrollment's latest move; a move of an earlier enrollment
        (older than the one this row holds) or an earlier move changes nothing."""
        if enrollment_id != self.enrollment_id and self.enrolled_at and at < self.enrolled_at:
            return
        if enrollment_id == self.moved_id and number <= self.version_move:
            return
        self.moved_id, self.version_move, self.moved_version = enrollment_id, number, version
        if self.enrollment_id in (None, enrollment_id):
            self.course_version = version

    def withdraw(self, enrollment_id: uuid.UUID, at: datetime) -> None:
        if self.withdrawn_at is None or at >= self.withdrawn_at:
            self.withdrawn_id, self.withdrawn_at = enrollment_id, at

    def grade_pre_test(self, score: float, attempt_number: int) -> None:
        """The first attempt is the baseline the improvement is measured from."""
        if self.pre_test_attempt is None or attempt_number < self.pre_test_attempt:
            self.pre_test_score, self.pre_test_attempt = score, attempt_number

    def grade_post_test(self, score: float, passed: bool) -> None:
        self.post_test_score = max(score, self.post_test_score or 0.0)
        self.passed = self.passed or passed

    def state(self) -> tuple[object, ...]:
        """What is stored of the row (its lessons are kept by the database alone, see
        ``store/lessons.py``): equal states need no write."""
        return (
            self.enrollment_id,
            self.course_version,
            self.course_title,
            self.cohort,
            self.village_code,
            self.position,
            self.enrolled_at,
            self.withdrawn_id,
            self.withdrawn_at,
            self.pre_test_score,
            self.pre_test_attempt,
            self.post_test_score,
            self.passed,
            self.completed,
            self.certified,
            self.revoked,
            self.last_activity_at,
            self.moved_id,
            self.version_move,
            self.moved_version,
            self.certificate_code,
        )

    def contribution(self) -> Contribution | None:
        if not self.enrolled or not self.village_code:
            return None
        key = (self.village_code, self.course_id, self.cohort, self.position or "")
        if self.withdrawn:
            return Contribution(key, WITHDRAWN, None)
        pre, post = self.pre_test_score, self.post_test_score
        pre_points = points(pre) if pre is not None else 0
        post_points = points(post) if post is not None else 0
        both = pre is not None and post is not None
        counters = (
            0,
            1,
            0,
            int(self.completed),
            int(self.passed),
            int(self.certified and not self.revoked),  # certificates that still hold
            pre_points,
            int(pre is not None),
            post_points,
            int(post is not None),  # post-test taken
            post_points - pre_points if both else 0,
            int(both),
            int(post is not None and not self.passed),  # took the post-test, not passed (yet)
            int(self.certified and self.revoked),
        )
        return Contribution(key, counters, day_of(self.last_activity_at))


def mark_active(at: datetime, *rows: LearnerRow | EnrollmentRow) -> None:
    """The learner was active at ``at``: the rows' last activity moves later, never back."""
    for row in rows:
        row.last_activity_at = later(row.last_activity_at, at)
