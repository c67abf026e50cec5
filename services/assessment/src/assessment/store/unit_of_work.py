"""SQL unit of work: the assessment domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert

from servicekit.clock import Clock
from servicekit.database import Transaction
from servicekit.runner import UnitOfWork
from servicekit.versions import later_move_wins

from ..domain import commands
from ..domain.model import (
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    CourseVersion,
    Grant,
    LearnerEnrollment,
    VersionStatus,
)
from . import queries
from .cache import AssessmentCache
from .rows import (
    assessment_values,
    attempt_from_row,
    attempt_values,
    question_values,
    settings_values,
    version_values,
)
from .tables import (
    assessment_versions,
    assessments,
    attempts,
    course_versions,
    enrollments,
    grants,
    lesson_completions,
    questions,
)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, tx: Transaction, *, cache: AssessmentCache, clock: Clock) -> None:
        super().__init__(tx)
        self.cache = cache
        self.clock = clock

    # question banks and their versions
    async def add_assessment(self, assessment: Assessment, created_by: str) -> None:
        await self.conn.execute(
            assessments.insert().values(**assessment_values(assessment), created_by=created_by)
        )
        await self._add_version(assessment, created_by)

    async def _add_version(self, assessment: Assessment, created_by: str) -> None:
        await self.conn.execute(
            assessment_versions.insert().values(
                **version_values(assessment, created_by),
                published_at=assessment.created_at
                if assessment.status == VersionStatus.PUBLISHED
                else None,
            )
        )
        await self.conn.execute(
            questions.insert(),
            [
                question_values(assessment.assessment_id, n, question, assessment.version)
                for n, question in enumerate(assessment.questions)
            ],
        )

    async def get_assessment(
        self, assessment_id: uuid.UUID, version: int | None = None
    ) -> Assessment | None:
        return await queries.assessment(self.conn, assessment_id, self.cache, version)

    async def post_test_of(self, course_id: uuid.UUID) -> uuid.UUID | None:
        """The course's post-test, its assessments locked so that two authors creating one
        at once cannot both succeed."""
        await self.conn.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(str(course_id), 0)))
        )
        return (
            await self.conn.execute(
                select(assessments.c.assessment_id)
                .where(
                    assessments.c.course_id == course_id,
                    assessments.c.kind == AssessmentKind.POST_TEST.value,
                )
                .limit(1)
            )
        ).scalar_one_or_none()

    async def latest_version(self, assessment_id: uuid.UUID) -> tuple[int, VersionStatus] | None:
        """The newest version and whether it is a draft; authors of one assessment wait for
        each other on its row."""
        locked = await self.conn.execute(
            select(assessments.c.assessment_id)
            .where(assessments.c.assessment_id == assessment_id)
            .with_for_update()
        )
        if locked.first() is None:
            return None
        row = (
            await self.conn.execute(
                select(assessment_versions.c.version, assessment_versions.c.status)
                .where(assessment_versions.c.assessment_id == assessment_id)
                .order_by(assessment_versions.c.version.desc())
                .limit(1)
            )
        ).one()
        return row.version, VersionStatus(row.status)

    async def save_draft(self, assessment: Assessment, edited_by: str) -> None:
        """Write the draft anew (its questions replaced) or add it as the next version."""
        await self.conn.execute(
            questions.delete().where(
                questions.c.assessment_id == assessment.assessment_id,
                questions.c.version == assessment.version,
            )
        )
        await self.conn.execute(
            assessment_versions.delete().where(
                assessment_versions.c.assessment_id == assessment.assessment_id,
                assessment_versions.c.version == assessment.version,
            )
        )
        await self._add_version(assessment, edited_by)

    async def publish_version(self, assessment: Assessment) -> None:
        """The version is published and becomes the one new attempts draw from."""
        now = self.clock()
        await self.conn.execute(
            assessment_versions.update()
            .where(
                assessment_versions.c.assessment_id == assessment.assessment_id,
                assessment_versions.c.version == assessment.version,
            )
            .values(status=VersionStatus.PUBLISHED.value, published_at=now)
        )
        await self.conn.execute(
            assessments.update()
            .where(assessments.c.assessment_id == assessment.assessment_id)
            .values(**settings_values(assessment), version=assessment.version)
        )

    async def extra_attempts(self, learner_id: uuid.UUID, assessment_id: uuid.UUID) -> int:
        return await queries.extra_attempts(self.conn, learner_id, assessment_id)

    async def add_grant(self, grant: Grant) -> None:
        kept = {k: v for k, v in grant.__dict__.items() if k in grants.c}
        await self.conn.execute(grants.insert().values(**kept))

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
        """A later move than the last one applied wins (``later_move_wins``)."""
        await self.conn.execute(later_move_wins(enrollments, cmd))

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
