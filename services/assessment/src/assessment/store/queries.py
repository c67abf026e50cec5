"""The SELECTs of the assessment service: what the routes read, and the loads the unit of work
takes (``lock``: FOR UPDATE, for a use case about to change what it read)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.regions.sql import under

from ..domain.model import (
    Assessment,
    AssessmentKind,
    Attempt,
    CourseVersion,
    LearnerEnrollment,
)
from .cache import AssessmentCache
from .rows import assessment_from_rows, attempt_from_row
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


async def assessment(
    conn: AsyncConnection,
    assessment_id: uuid.UUID,
    cache: AssessmentCache,
    version: int | None = None,
) -> Assessment | None:
    """A version of the assessment with its bank: the published one new attempts draw from
    when ``version`` is None."""
    if version is None:
        version = (
            await conn.execute(
                select(assessments.c.version).where(assessments.c.assessment_id == assessment_id)
            )
        ).scalar_one_or_none()
        if version is None:
            return None
    found = cache.get(assessment_id, version)
    if found is None:
        found = await load_assessment(conn, assessment_id, version)
        if found is not None:
            cache.put(found)
    return found


async def load_assessment(
    conn: AsyncConnection, assessment_id: uuid.UUID, version: int
) -> Assessment | None:
    row = (
        await conn.execute(
            select(assessment_versions, assessments.c.course_id, assessments.c.kind)
            .join(assessments, assessments.c.assessment_id == assessment_versions.c.assessment_id)
            .where(
                assessment_versions.c.assessment_id == assessment_id,
                assessment_versions.c.version == version,
            )
        )
    ).first()
    if row is None:
        return None
    bank = await conn.execute(
        select(questions)
        .where(questions.c.assessment_id == assessment_id, questions.c.version == version)
        .order_by(questions.c.position)
    )
    return assessment_from_rows(row, list(bank))


async def extra_attempts(
    conn: AsyncConnection, learner_id: uuid.UUID, assessment_id: uuid.UUID
) -> int:
    """Attempts instructors granted the learner beyond the assessment's limit."""
    total = await conn.execute(
        select(func.coalesce(func.sum(grants.c.extra_attempts), 0)).where(
            grants.c.learner_id == learner_id, grants.c.assessment_id == assessment_id
        )
    )
    return int(total.scalar_one())


async def attempt(
    conn: AsyncConnection, attempt_id: uuid.UUID, *, lock: bool = False
) -> Attempt | None:
    query = select(attempts).where(attempts.c.attempt_id == attempt_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return attempt_from_row(row) if row else None


async def attempts_of(
    conn: AsyncConnection, learner_id: uuid.UUID, assessment_id: uuid.UUID
) -> list[Attempt]:
    rows = await conn.execute(
        select(attempts)
        .where(attempts.c.learner_id == learner_id, attempts.c.assessment_id == assessment_id)
        .order_by(attempts.c.attempt_number)
    )
    return [attempt_from_row(row) for row in rows]


async def active_enrollment(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID, *, lock: bool = False
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
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        return None
    lessons = await conn.execute(
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


async def course_version(
    conn: AsyncConnection, course_id: uuid.UUID, version: int
) -> CourseVersion | None:
    row = (
        await conn.execute(
            select(course_versions).where(
                course_versions.c.course_id == course_id,
                course_versions.c.version == version,
            )
        )
    ).first()
    if row is None:
        return None
    return CourseVersion(
        row.course_id,
        row.version,
        frozenset(uuid.UUID(x) for x in row.required_lesson_ids),
        tuple((uuid.UUID(x), title) for x, title in row.lessons),
    )


async def assessment_page(
    conn: AsyncConnection,
    *,
    enrolled_learner_id: uuid.UUID | None,
    course_id: uuid.UUID | None,
    kind: AssessmentKind | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Up to ``limit + 1`` assessment rows after ``after`` (the extra one tells a next page
    exists); with ``enrolled_learner_id``, only those of the learner's active courses."""
    query = select(assessments).order_by(assessments.c.assessment_id).limit(limit + 1)
    if enrolled_learner_id is not None:
        query = query.where(
            assessments.c.course_id.in_(
                select(enrollments.c.course_id).where(
                    enrollments.c.learner_id == enrolled_learner_id,
                    enrollments.c.withdrawn_at.is_(None),
                    enrollments.c.course_version.is_not(None),
                )
            )
        )
    if course_id:
        query = query.where(assessments.c.course_id == course_id)
    if kind:
        query = query.where(assessments.c.kind == kind.value)
    if after:
        query = query.where(assessments.c.assessment_id > after)
    return (await conn.execute(query)).all()


async def question_counts(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = await conn.execute(
        select(questions.c.assessment_id, func.count())
        .join(
            assessments,
            (assessments.c.assessment_id == questions.c.assessment_id)
            & (assessments.c.version == questions.c.version),
        )
        .where(questions.c.assessment_id.in_(ids))
        .group_by(questions.c.assessment_id)
    )
    return {row[0]: row[1] for row in rows}


async def attempt_page(
    conn: AsyncConnection,
    *,
    region_code: str | None,
    own_learner_id: uuid.UUID | None,
    assessment_id: uuid.UUID | None,
    learner_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Up to ``limit + 1`` attempt rows after ``after``, each with its assessment's kind and
    pass score; ``region_code`` or ``own_learner_id`` narrow them to what the caller may see."""
    query = (
        select(attempts, assessments.c.kind, assessments.c.pass_score)
        .join(assessments, assessments.c.assessment_id == attempts.c.assessment_id)
        .order_by(attempts.c.attempt_id)
        .limit(limit + 1)
    )
    if region_code is not None:
        query = query.where(under(attempts.c.village_code, region_code))
    if own_learner_id is not None:
        query = query.where(attempts.c.learner_id == own_learner_id)
    if assessment_id:
        query = query.where(attempts.c.assessment_id == assessment_id)
    if learner_id:
        query = query.where(attempts.c.learner_id == learner_id)
    if after:
        query = query.where(attempts.c.attempt_id > after)
    return (await conn.execute(query)).all()


async def post_test_offline(conn: AsyncConnection, course_id: uuid.UUID) -> bool | None:
    """Whether the course's post-test may be taken offline (None: it has none)."""
    found = (
        await conn.execute(
            select(assessments.c.allow_offline)
            .where(
                assessments.c.course_id == course_id,
                assessments.c.kind == AssessmentKind.POST_TEST.value,
            )
            .order_by(assessments.c.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if found is None else bool(found)
