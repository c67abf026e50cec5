"""Read-model rows and what each contributes to the rollups.

A batch of events changes some learner and enrollment rows. Each row contributes counters to
the rollups of its region (at every level), course, cohort and position, and one to the
activity bucket of the day it was last active; the rollups change by the difference between
what the changed rows contribute after the batch and before it. That makes every update cost
the same whatever the history, keeps counts exact however the events are ordered (every
field below is set by a commutative rule: a flag that only turns on, a maximum, the value
of the latest timestamp), and moves a learner's counts along when they change village.

Plain Python: no database, broker or web imports.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

NO_COURSE = uuid.UUID(int=0)
Key = tuple[str, uuid.UUID, str, str]  # region_code, course_id, cohort, position
ActivityKey = tuple[str, uuid.UUID, str, str, date]
Counters = dict[str, int]

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


@dataclass
class Contribution:
    key: Key
    counters: Counters
    active_on: date | None


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

    def contribution(self) -> Contribution | None:
        if not self.registered or not self.village_code:
            return None
        key = (self.village_code, NO_COURSE, "", self.position or "")
        return Contribution(key, {"registered": 1}, _day(self.last_activity_at))


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
    lesson_ids: list[uuid.UUID] = field(default_factory=list)
    pre_test_score: float | None = None
    pre_test_attempt: int | None = None
    post_test_score: float | None = None
    passed: bool = False
    completed: bool = False
    certified: bool = False
    last_activity_at: datetime | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrollment_id is not None

    @property
    def withdrawn(self) -> bool:
        """Withdrawn from the current enrollment (a later re-enrollment clears it)."""
        return self.enrolled and self.withdrawn_id == self.enrollment_id

    @property
    def lessons_done(self) -> int:
        return len(self.lesson_ids)

    @property
    def status(self) -> str:
        if self.withdrawn:
            return "withdrawn"
        if self.completed:
            return "completed"
        if self.lesson_ids or self.post_test_score is not None:
            return "in_progress"
        return "enrolled" if self.enrolled else "unknown"

    def enroll(self, enrollment_id: uuid.UUID, at: datetime, cohort: str | None) -> bool:
        """Take the newest enrollment of this learner in this course; False if older."""
        if self.enrolled_at is not None and at < self.enrolled_at:
            return False
        self.enrollment_id, self.enrolled_at, self.cohort = enrollment_id, at, cohort or ""
        return True

    def withdraw(self, enrollment_id: uuid.UUID, at: datetime) -> None:
        if self.withdrawn_at is None or at >= self.withdrawn_at:
            self.withdrawn_id, self.withdrawn_at = enrollment_id, at

    def complete_lesson(self, lesson_id: uuid.UUID) -> None:
        if lesson_id not in self.lesson_ids:
            self.lesson_ids.append(lesson_id)

    def grade_pre_test(self, score: float, attempt_number: int) -> None:
        """The first attempt is the baseline the improvement is measured from."""
        if self.pre_test_attempt is None or attempt_number < self.pre_test_attempt:
            self.pre_test_score, self.pre_test_attempt = score, attempt_number

    def grade_post_test(self, score: float, passed: bool) -> None:
        self.post_test_score = max(score, self.post_test_score or 0.0)
        self.passed = self.passed or passed

    def contribution(self) -> Contribution | None:
        if not self.enrolled or not self.village_code:
            return None
        key = (self.village_code, self.course_id, self.cohort, self.position or "")
        if self.withdrawn:
            return Contribution(key, {"withdrawn": 1}, None)
        counters: Counters = {
            "enrolled": 1,
            "completed": int(self.completed),
            "passed": int(self.passed),
            "certified": int(self.certified),
        }
        if self.pre_test_score is not None:
            counters |= {"pre_test_sum": points(self.pre_test_score), "pre_test_count": 1}
        if self.post_test_score is not None:
            counters |= {"post_test_sum": points(self.post_test_score), "post_test_count": 1}
        if self.pre_test_score is not None and self.post_test_score is not None:
            counters |= {
                "improvement_sum": points(self.post_test_score) - points(self.pre_test_score),
                "improvement_count": 1,
            }
        return Contribution(key, counters, _day(self.last_activity_at))


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


@dataclass
class Deltas:
    """Rollup and activity changes of one batch, aggregated per key before writing."""

    rollups: dict[Key, Counters] = field(default_factory=dict)
    activity: dict[ActivityKey, int] = field(default_factory=dict)

    def add(self, contribution: Contribution | None, sign: int) -> None:
        if contribution is None:
            return
        village, course, cohort, position = contribution.key
        for region in region_levels(village):
            bucket = self.rollups.setdefault((region, course, cohort, position), {})
            for name, value in contribution.counters.items():
                bucket[name] = bucket.get(name, 0) + sign * value
            if contribution.active_on is not None:
                day_key = (region, course, cohort, position, contribution.active_on)
                self.activity[day_key] = self.activity.get(day_key, 0) + sign

    def changed_rollups(self) -> list[tuple[Key, Counters]]:
        return sorted(
            (key, counters) for key, counters in self.rollups.items() if any(counters.values())
        )

    def changed_activity(self) -> list[tuple[ActivityKey, int]]:
        return sorted((key, n) for key, n in self.activity.items() if n)
