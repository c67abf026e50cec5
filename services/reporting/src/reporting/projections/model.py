"""Read-model rows and what each contributes to the rollups.

A batch of events changes some learner and enrollment rows. Each row contributes counters to
the rollups of its region (at every level), course, cohort and position; the rollups change
by the difference between what the changed rows contribute after the batch and before it.
That makes every update cost the same whatever the history, keeps counts exact however the
events are ordered, and moves a learner's counts along when they change village.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

NO_COURSE = uuid.UUID(int=0)
Key = tuple[str, uuid.UUID, str, str]  # region_code, course_id, cohort, position
Counters = dict[str, float]


def region_levels(village_code: str) -> list[str]:
    """``74.01.01.2006`` -> the nation, province, regency, district and village codes."""
    return ["", village_code[:2], village_code[:5], village_code[:8], village_code]


@dataclass
class LearnerRow:
    learner_id: uuid.UUID
    full_name: str | None = None
    village_code: str | None = None
    position: str | None = None
    registered: bool = False
    last_activity_at: datetime | None = None

    def contribution(self) -> tuple[Key, Counters] | None:
        if not self.registered or not self.village_code:
            return None
        return (self.village_code, NO_COURSE, "", self.position or ""), {"registered": 1}


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
    enrolled: bool = False
    withdrawn: bool = False
    lessons_done: int = 0
    pre_test_score: float | None = None
    pre_test_attempt: int | None = None
    post_test_score: float | None = None
    passed: bool = False
    completed: bool = False
    certified: bool = False
    enrolled_at: datetime | None = None
    last_activity_at: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.withdrawn:
            return "withdrawn"
        if self.completed:
            return "completed"
        if self.lessons_done or self.post_test_score is not None:
            return "in_progress"
        return "enrolled" if self.enrolled else "unknown"

    def contribution(self) -> tuple[Key, Counters] | None:
        if not self.enrolled or not self.village_code:
            return None
        counters: Counters = {
            "enrolled": 0 if self.withdrawn else 1,
            "withdrawn": 1 if self.withdrawn else 0,
            "completed": int(self.completed),
            "passed": int(self.passed),
            "certified": int(self.certified),
        }
        if self.pre_test_score is not None:
            counters |= {"pre_test_sum": self.pre_test_score, "pre_test_count": 1}
        if self.post_test_score is not None:
            counters |= {"post_test_sum": self.post_test_score, "post_test_count": 1}
        if self.pre_test_score is not None and self.post_test_score is not None:
            counters |= {
                "improvement_sum": self.post_test_score - self.pre_test_score,
                "improvement_count": 1,
            }
        return (self.village_code, self.course_id, self.cohort, self.position or ""), counters


def add(deltas: dict[Key, Counters], contribution: tuple[Key, Counters] | None, sign: int) -> None:
    if contribution is None:
        return
    (village, course, cohort, position), counters = contribution
    for region in region_levels(village):
        bucket = deltas.setdefault((region, course, cohort, position), {})
        for name, value in counters.items():
            bucket[name] = bucket.get(name, 0) + sign * value


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
