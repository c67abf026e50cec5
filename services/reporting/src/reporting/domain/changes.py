"""A batch's rows in memory: loaded from the store, changed by the projection rules
(``usecases.RULES``), and written back where they differ from what was loaded."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from .model import Contact, CourseVersion, EnrollmentRow, LearnerRow
from .rollups import Deltas


class Changes:
    """A batch applied to loaded rows; ``deltas()`` is after minus before."""

    def __init__(
        self, learners: Iterable[LearnerRow], enrollments: Iterable[EnrollmentRow]
    ) -> None:
        self.learners = {row.learner_id: row for row in learners}
        self.enrollments = {(row.learner_id, row.course_id): row for row in enrollments}
        self._before = {id(row): row.contribution() for row in self.rows()}
        self._loaded = {id(row): row.state() for row in self.rows()}
        self.courses: list[CourseVersion] = []
        self.contacts: list[Contact] = []

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

    def enrollment_of(
        self, learner_id: uuid.UUID, course_id: uuid.UUID
    ) -> tuple[EnrollmentRow, LearnerRow]:
        """The enrollment and its learner, both created if the batch has neither yet."""
        return self.enrollment(learner_id, course_id), self.learner(learner_id)

    def place_enrollments(self) -> None:
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
