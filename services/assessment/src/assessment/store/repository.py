"""SQL unit of work: the assessment domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from servicekit.database import Transaction

from ..domain import commands
from ..domain.events import DomainEvent
from ..domain.model import (
    Assessment,
    Attempt,
    AttemptStatus,
    CourseVersion,
    LearnerEnrollment,
)
from ..events.outbound import to_contract
from .rows import (
    assessment_values,
    attempt_from_row,
    attempt_values,
    load_assessment,
    question_values,
)
from .tables import (
    assessments,
    attempts,
    course_versions,
    enrollments,
    lesson_completions,
    questions,
)


class AssessmentCache:
    """Assessments never change once created, so a process keeps the ones learners are taking
    instead of reading the bank again for every attempt started and submitted."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self.entries: OrderedDict[uuid.UUID, Assessment] = OrderedDict()

    def get(self, assessment_id: uuid.UUID) -> Assessment | None:
        found = self.entries.get(assessment_id)
        if found is not None:
            self.entries.move_to_end(assessment_id)
        return found

    def put(self, assessment: Assessment) -> None:
        self.entries[assessment.assessment_id] = assessment
        self.entries.move_to_end(assessment.assessment_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class SqlUnitOfWork:
    def __init__(
        self, tx: Transaction, created_by: str = "", cache: AssessmentCache | None = None
    ) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.created_by = created_by
        self.cache = cache or AssessmentCache(size=50)
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def flush_events(self) -> None:
        for event in self.events:
            for data in to_contract(event):
                await self.tx.emit(data)
        self.events.clear()

    # question banks
    async def add_assessment(self, assessment: Assessment) -> None:
        await self.conn.execute(
            assessments.insert().values(**assessment_values(assessment), created_by=self.created_by)
        )
        await self.conn.execute(
            questions.insert(),
            [
                question_values(assessment.assessment_id, position, question)
                for position, question in enumerate(assessment.questions)
            ],
        )

    async def get_assessment(self, assessment_id: uuid.UUID) -> Assessment | None:
        assessment = self.cache.get(assessment_id)
        if assessment is None:
            assessment = await load_assessment(self.conn, assessment_id)
            if assessment is not None:
                self.cache.put(assessment)
        return assessment

    # attempts
    async def attempts_of(self, learner_id: uuid.UUID, assessment_id: uuid.UUID) -> list[Attempt]:
        rows = await self.conn.execute(
            select(attempts)
            .where(attempts.c.learner_id == learner_id, attempts.c.assessment_id == assessment_id)
            .order_by(attempts.c.attempt_number)
        )
        return [attempt_from_row(row) for row in rows]

    async def get_attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> Attempt | None:
        query = select(attempts).where(attempts.c.attempt_id == attempt_id)
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        return attempt_from_row(row) if row else None

    async def add_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(attempts.insert().values(**attempt_values(attempt)))

    async def save_attempt(self, attempt: Attempt) -> None:
        await self.conn.execute(
            attempts.update()
            .where(attempts.c.attempt_id == attempt.attempt_id)
            .values(**attempt_values(attempt))
        )

    async def overdue_attempts(self, expired_before: datetime, limit: int) -> list[Attempt]:
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
        query = (
            select(enrollments)
            .where(
                enrollments.c.learner_id == learner_id,
                enrollments.c.course_id == course_id,
                enrollments.c.withdrawn_at.is_(None),
                enrollments.c.course_version.is_not(None),
            )
            .order_by(enrollments.c.enrolled_at.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return None
        lessons = await self.conn.execute(
            select(lesson_completions.c.lesson_id).where(
                lesson_completions.c.learner_id == learner_id,
                lesson_completions.c.course_id == course_id,
            )
        )
        return LearnerEnrollment(
            enrollment_id=row.enrollment_id,
            learner_id=row.learner_id,
            course_id=row.course_id,
            course_version=row.course_version,
            village_code=row.village_code,
            completed_lesson_ids=frozenset(lessons.scalars()),
        )

    async def course_version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None:
        row = (
            await self.conn.execute(
                select(course_versions).where(
                    course_versions.c.course_id == course_id,
                    course_versions.c.version == version,
                )
            )
        ).first()
        if row is None:
            return None
        return CourseVersion(
            row.course_id, row.version, frozenset(uuid.UUID(x) for x in row.required_lesson_ids)
        )

    async def add_course_version(self, course: CourseVersion) -> None:
        await self.conn.execute(
            insert(course_versions)
            .values(
                course_id=course.course_id,
                version=course.version,
                required_lesson_ids=sorted(str(x) for x in course.required_lesson_ids),
            )
            .on_conflict_do_nothing()
        )

    async def save_enrollment(self, cmd: commands.RecordEnrolled) -> None:
        enrolled = {
            "course_version": cmd.course_version,
            "village_code": cmd.village_code,
            "enrolled_at": cmd.enrolled_at,
        }
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            **enrolled,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(index_elements=["enrollment_id"], set_=enrolled)
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
