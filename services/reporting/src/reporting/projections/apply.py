"""What each event does to the read-model rows: the reporting service's one handler table.

| event                    | learner row                 | enrollment row                      |
|--------------------------|-----------------------------|-------------------------------------|
| learner-registered       | profile (newest), registered| follows the learner's village       |
| learner-updated          | profile (newest)            | follows the learner's village       |
| enrolled                 | place if no profile yet     | newest enrollment, cohort           |
| withdrawn                | -                           | newest withdrawal                   |
| lesson-completed         | last activity               | lesson counted once, last activity  |
|                          | (set-based in SQL: ``lessons.py``)                                 |
| passed / failed          | last activity               | pre-test first attempt, post-test best, passed |
| course-completed         | last activity               | completed                           |
| certificate-issued       | -                           | certified                           |
| course-published         | (course versions, written apart)                                  |

The rows come loaded from the store; :class:`Changes` applies a batch to them in memory and
says how the rollups change. No database code here. Lesson completions, nearly every event at
national scale and never a change to a rollup counter, are applied by one SQL statement
instead (``lessons.py``, ADR 7).

Every rule is idempotent (a flag that only turns on, a maximum or first attempt, a set, the
newest by its own timestamp), which is why the consumer keeps no inbox (ADR 6): a rule that
is not, a count of events say, needs the inbox back or the seen ids in its row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import lms_contracts as c

from .model import Deltas, EnrollmentRow, LearnerRow, later

ENROLLMENT_EVENTS = (
    c.Enrolled,
    c.Withdrawn,
    c.Passed,
    c.Failed,
    c.CourseCompleted,
    c.CertificateIssued,
)
LEARNER_EVENTS = (c.LearnerRegistered, c.LearnerUpdated)


def learner_ids_of(events: Iterable[c.CloudEvent[Any]]) -> list[uuid.UUID]:
    return list(
        {
            e.data.learner_id
            for e in events
            if isinstance(e.data, LEARNER_EVENTS + ENROLLMENT_EVENTS)
        }
    )


class Changes:
    """A batch applied to loaded rows; ``deltas()`` is after minus before."""

    def __init__(
        self, learners: Iterable[LearnerRow], enrollments: Iterable[EnrollmentRow]
    ) -> None:
        self.learners = {row.learner_id: row for row in learners}
        self.enrollments = {(row.learner_id, row.course_id): row for row in enrollments}
        self._before = {id(row): row.contribution() for row in self.rows()}
        self._loaded = {id(row): row.state() for row in self.rows()}
        self.published: list[c.CoursePublished] = []

    def rows(self) -> list[LearnerRow | EnrollmentRow]:
        return [*self.learners.values(), *self.enrollments.values()]

    def changed_learners(self) -> list[LearnerRow]:
        """Learner rows to write: new, or different from what was loaded."""
        return [r for r in self.learners.values() if self._loaded.get(id(r)) != r.state()]

    def changed_enrollments(self) -> list[EnrollmentRow]:
        return [r for r in self.enrollments.values() if self._loaded.get(id(r)) != r.state()]

    def learner(self, learner_id: uuid.UUID) -> LearnerRow:
        return self.learners.setdefault(learner_id, LearnerRow(learner_id))

    def enrollment(self, learner_id: uuid.UUID, course_id: uuid.UUID) -> EnrollmentRow:
        return self.enrollments.setdefault(
            (learner_id, course_id), EnrollmentRow(learner_id, course_id)
        )

    def apply(self, events: Iterable[c.CloudEvent[Any]]) -> Changes:
        for event in events:
            data = event.data
            if isinstance(data, c.CoursePublished):
                self.published.append(data)
            elif isinstance(data, c.LearnerRegistered):
                self.learner(data.learner_id).take_profile(
                    data.full_name, data.village_code, data.position.value, data.registered_at, True
                )
            elif isinstance(data, c.LearnerUpdated):
                self.learner(data.learner_id).take_profile(
                    data.full_name, data.village_code, data.position.value, data.updated_at, True
                )
            elif isinstance(data, ENROLLMENT_EVENTS):
                self.on_enrollment(data)
        self._place_enrollments()
        return self

    def on_enrollment(self, data: Any) -> None:
        row = self.enrollment(data.learner_id, data.course_id)
        learner = self.learner(data.learner_id)
        when = None
        if isinstance(data, c.Enrolled):
            learner.assume_place(data.village_code, data.position.value)
            if row.enroll(data.enrollment_id, data.enrolled_at, data.cohort):
                row.course_version, row.course_title = data.course_version, data.course_title
        elif isinstance(data, c.Withdrawn):
            learner.assume_place(data.village_code, None)
            row.withdraw(data.enrollment_id, data.withdrawn_at)
        elif isinstance(data, c.Passed | c.Failed):
            when = data.graded_at
            if data.assessment_kind == c.AssessmentKind.PRE_TEST:
                row.grade_pre_test(data.score, data.attempt_number)
            elif data.assessment_kind == c.AssessmentKind.POST_TEST:
                row.grade_post_test(data.score, isinstance(data, c.Passed))
        elif isinstance(data, c.CourseCompleted):
            row.completed = True
            when = data.completed_at
        elif isinstance(data, c.CertificateIssued):
            row.certified = True
        if when is not None:
            row.last_activity_at = later(row.last_activity_at, when)
            learner.last_activity_at = later(learner.last_activity_at, when)

    def _place_enrollments(self) -> None:
        """Enrollments count where (and as what) their learner is now."""
        for (learner_id, _), row in self.enrollments.items():
            learner = self.learners.get(learner_id)
            if learner is not None and learner.village_code:
                row.village_code, row.position = learner.village_code, learner.position

    def deltas(self) -> Deltas:
        """What the rows contribute now minus what they did before (unchanged rows skipped)."""
        deltas = Deltas()
        for row in self.rows():
            before, after = self._before.get(id(row)), row.contribution()
            if before != after:
                deltas.move(before, after)
        return deltas
