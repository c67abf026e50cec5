"""SQL unit of work: the assessment domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert

from servicekit.clock import Clock
from servicekit.database import Transaction
from servicekit.runner import UnitOfWork

from ..domain import commands
from ..domain.model import (
    Assessment,
    Attempt,
    AttemptStatus,
    CourseVersion,
    LearnerEnrollment,
)
from . import queries
from .cache import AssessmentCache
from .rows import assessment_values, attempt_from_row, attempt_values, question_values
from .tables import (
    assessments,
    attempts,
    course_versions,
    enrollments,
    lesson_completions,
    questions,
)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, tx: Transaction, *, cache: AssessmentCache, clock: Clock) -> None:
        super().__init__(tx)
        self.cache = cache
        self.clock = clock

    # question banks
    async def add_assessment(self, assessment: Assessment, created_by: str) -> None:
        await self.conn.execute(
            assessments.insert().values(**assessment_values(assessment), created_by=created_by)
        )
        await self.conn.execute(
            questions.insert(),
            [
                question_values(assessment.assessment_id, position, question)
                for position, question in enumerate(assessment.questions)
            ],
        )

    async def get_assessment(self, assessment_id: uuid.UUID) -> Assessment | None:
        return await queries.assessment(self.conn, assessment_id, self.cache)

    # attempts
    async def attempts_of(self, learner_id: uuid.UUID, assessment_id: uuid.UUID) -> list[Attempt]:
        return await queries.attempts_of(self.conn, learner_id, assessment_id)

    async def get_attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> Attempt | None:
        return await queries.attempt(self.conn, attempt_id, lock=lock)

    async def add_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(attempts.insert().values(**attempt_values(attempt)))

    async def save_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(
            attempts.update()
            .where(attempts.c.attempt_id == attempt.attempt_id)
            .values(**attempt_values(attempt))
        )

    async def overdue_attempts(self, expired_before: datetime, limit: int) -> list[Attempt]:
        """Replicas sweeping together each take other rows (SKIP LOCKED)."""
        rows = await self.conn.execute(
            select(attempts)
            .where(
                attempts.c.status == AttemptStatus.IN_PROGRESS.value,
                attempts.c.expires_at.is_not(None),
                attempts.c.expires_at < expired_before,
            )
            .order_by(attempts.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [attempt_from_row(row) for row in rows]

    # what events taught us
    async def active_enrollment(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, *, lock: bool = False
    ) -> LearnerEnrollment | None:
        return await queries.active_enrollment(self.conn, learner_id, course_id, lock=lock)

    async def course_version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None:
        return await queries.course_version(self.conn, course_id, version)

    async def add_course_version(self, course: CourseVersion) -> None:
        await self.conn.execute(
            insert(course_versions)
            .values(
                course_id=course.course_id,
                version=course.version,
                required_lesson_ids=sorted(str(x) for x in course.required_lesson_ids),
                lessons=[[str(x), title] for x, title in course.lessons],
            )
            .on_conflict_do_nothing()
        )

    async def save_enrollment(self, cmd: commands.RecordEnrolled) -> None:
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            course_version=cmd.course_version,
            village_code=cmd.village_code,
            enrolled_at=cmd.enrolled_at,
        )
        # a move that came first keeps the version it moved the learner to
        moved = enrollments.c.version_move > 0
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={
                    "course_version": case(
                        (moved, enrollments.c.course_version),
                        else_=statement.excluded.course_version,
                    ),
                    "village_code": statement.excluded.village_code,
                    "enrolled_at": statement.excluded.enrolled_at,
                },
            )
        )

    async def change_version(self, cmd: commands.RecordVersionChange) -> None:
        """A later move than the last one applied wins; an earlier or repeated one changes
        nothing. A move that comes before its enrollment is kept for it."""
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            course_version=cmd.course_version,
            village_code=cmd.village_code,
            version_move=cmd.move_number,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={
                    "course_version": statement.excluded.course_version,
                    "version_move": statement.excluded.version_move,
                },
                where=enrollments.c.version_move < statement.excluded.version_move,
            )
        )

    async def withdraw_enrollment(self, cmd: commands.RecordWithdrawn) -> None:
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            village_code=cmd.village_code,
            withdrawn_at=cmd.withdrawn_at,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"], set_={"withdrawn_at": cmd.withdrawn_at}
            )
        )

    async def add_lesson_completion(self, cmd: commands.RecordLessonCompleted) -> None:
        await self.conn.execute(
            insert(lesson_completions)
            .values(
                learner_id=cmd.learner_id,
                course_id=cmd.course_id,
                lesson_id=cmd.lesson_id,
                completed_at=cmd.completed_at,
            )
            .on_conflict_do_nothing()
        )
