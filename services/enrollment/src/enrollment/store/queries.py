"""What the enrollment API reads: each query takes a connection and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.regions.sql import under

from ..domain.model import BulkEnrollment, EnrollmentStatus, Learner, Position
from .rows import learner_from_row
from .tables import (
    certificates,
    cohorts,
    courses,
    enrollments,
    job_rows,
    jobs,
    learners,
    lesson_completions,
)

# The learners a bulk job covers: a region prefix and, if any are given, positions. The job's
# chunks (``events/outbound.py``) select with the same condition as the count it starts with.
# (``starts_with``, never ``LIKE``: a code is compared, not matched as a pattern)
BULK_LEARNERS = """(village_code = :region OR starts_with(village_code, :region || '.'))
                   AND (cardinality(CAST(:positions AS text[])) = 0
                        OR position = ANY(CAST(:positions AS text[])))"""


def bulk_learner_params(bulk: BulkEnrollment) -> dict[str, Any]:
    return {"region": bulk.region_code, "positions": [p.value for p in bulk.positions]}


async def bulk_learner_count(conn: AsyncConnection, bulk: BulkEnrollment) -> int:
    total = await conn.execute(
        text(f"SELECT count(*) FROM learners WHERE {BULK_LEARNERS}"), bulk_learner_params(bulk)
    )
    return int(total.scalar_one())


async def learner(conn: AsyncConnection, learner_id: uuid.UUID) -> Learner | None:
    row = (await conn.execute(select(learners).where(learners.c.learner_id == learner_id))).first()
    return learner_from_row(row) if row else None


async def learners_page(
    conn: AsyncConnection,
    *,
    region_code: str,
    position: Position | None,
    course_id: uuid.UUID | None,
    status: EnrollmentStatus | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Learner]:
    """Up to ``limit + 1`` learners in (village, id) order after ``after``: one more than a
    page, to tell whether another page follows."""
    query = (
        select(learners).order_by(learners.c.village_code, learners.c.learner_id).limit(limit + 1)
    )
    query = query.where(under(learners.c.village_code, region_code))
    if position:
        query = query.where(learners.c.position == position.value)
    if course_id or status:
        conditions = [enrollments.c.learner_id == learners.c.learner_id]
        if course_id:
            conditions.append(enrollments.c.course_id == course_id)
        if status:
            conditions.append(enrollments.c.status == status.value)
        query = query.where(select(enrollments.c.enrollment_id).where(and_(*conditions)).exists())
    if after:
        village_code, learner_id = after
        query = query.where(
            or_(
                learners.c.village_code > village_code,
                and_(learners.c.village_code == village_code, learners.c.learner_id > learner_id),
            )
        )
    return [learner_from_row(r) for r in (await conn.execute(query)).all()]


async def enrollments_page(
    conn: AsyncConnection,
    *,
    region_code: str | None,
    own_learner_id: uuid.UUID | None,
    learner_id: uuid.UUID | None,
    course_id: uuid.UUID | None,
    status: EnrollmentStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to ``limit + 1`` enrollments in id order after ``after``, within a region or of one
    learner (``own_learner_id``) when the caller sees only those."""
    query = (
        select(enrollments)
        .join(learners, learners.c.learner_id == enrollments.c.learner_id)
        .order_by(enrollments.c.enrollment_id)
        .limit(limit + 1)
    )
    if region_code is not None:
        query = query.where(under(learners.c.village_code, region_code))
    elif own_learner_id:
        query = query.where(enrollments.c.learner_id == own_learner_id)
    if learner_id:
        query = query.where(enrollments.c.learner_id == learner_id)
    if course_id:
        query = query.where(enrollments.c.course_id == course_id)
    if status:
        query = query.where(enrollments.c.status == status.value)
    if after:
        query = query.where(enrollments.c.enrollment_id > after)
    return list((await conn.execute(query)).all())


async def enrollment(conn: AsyncConnection, enrollment_id: uuid.UUID) -> Row[Any]:
    """An enrollment just written in this transaction."""
    return (
        await conn.execute(select(enrollments).where(enrollments.c.enrollment_id == enrollment_id))
    ).one()


async def enrollment_with_village(
    conn: AsyncConnection, enrollment_id: uuid.UUID
) -> Row[Any] | None:
    """An enrollment and its learner's village, which decides who may see it."""
    return (
        await conn.execute(
            select(enrollments, learners.c.village_code)
            .join(learners, learners.c.learner_id == enrollments.c.learner_id)
            .where(enrollments.c.enrollment_id == enrollment_id)
        )
    ).first()


async def lessons_completed(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID
) -> int:
    return (
        await conn.execute(
            select(func.count())
            .select_from(lesson_completions)
            .where(
                lesson_completions.c.learner_id == learner_id,
                lesson_completions.c.course_id == course_id,
            )
        )
    ).scalar_one()


async def cohorts_of(conn: AsyncConnection, course_id: uuid.UUID) -> list[Row[Any]]:
    rows = await conn.execute(
        select(cohorts)
        .where(cohorts.c.course_id == course_id)
        .order_by(cohorts.c.enrollment_opens_at.nulls_first(), cohorts.c.name)
    )
    return list(rows)


async def catalog(conn: AsyncConnection) -> list[Row[Any]]:
    """The latest version of every course learnt from course-published events."""
    latest = (
        select(courses)
        .distinct(courses.c.course_id)
        .order_by(courses.c.course_id, courses.c.version.desc())
    )
    return list((await conn.execute(latest)).all())


async def certificate(conn: AsyncConnection, verification_code: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(certificates).where(certificates.c.verification_code == verification_code)
        )
    ).first()


async def job(conn: AsyncConnection, job_id: uuid.UUID) -> Row[Any] | None:
    return (await conn.execute(select(jobs).where(jobs.c.job_id == job_id))).first()


async def jobs_page(
    conn: AsyncConnection,
    *,
    region_code: str,
    kind: str | None,
    state: str | None,
    created_by: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to ``limit + 1`` jobs acting within ``region_code``, newest first, before ``before``."""
    query = (
        select(jobs)
        .where(under(jobs.c.region_code, region_code))
        .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
        .limit(limit + 1)
    )
    if region_code:
        # a national job ("") is under no region but the country's
        query = query.where(jobs.c.region_code != "")
    if kind:
        query = query.where(jobs.c.kind == kind)
    if state:
        query = query.where(jobs.c.state == state)
    if created_by:
        query = query.where(jobs.c.created_by == created_by)
    if before:
        created_at, job_id = before
        query = query.where(
            or_(
                jobs.c.created_at < created_at,
                and_(jobs.c.created_at == created_at, jobs.c.job_id < job_id),
            )
        )
    return list((await conn.execute(query)).all())


async def job_outcomes(
    conn: AsyncConnection, job_id: uuid.UUID, batch: int = 1000
) -> AsyncIterator[Any]:
    """Every row of a job in order, with the learner it found or registered, a batch of
    rows per query (a bulk job may have hundreds of thousands)."""
    after = 0
    while True:
        rows = (
            await conn.execute(
                select(
                    job_rows.c.row_number,
                    job_rows.c.outcome,
                    job_rows.c.enrollment,
                    job_rows.c.learner_id,
                    job_rows.c.field,
                    job_rows.c.reason,
                    func.coalesce(learners.c.full_name, job_rows.c.input["full_name"].astext).label(
                        "full_name"
                    ),
                    func.coalesce(
                        learners.c.village_code, job_rows.c.input["village_code"].astext
                    ).label("village_code"),
                    func.coalesce(learners.c.position, job_rows.c.input["position"].astext).label(
                        "position"
                    ),
                )
                .outerjoin(learners, learners.c.learner_id == job_rows.c.learner_id)
                .where(job_rows.c.job_id == job_id, job_rows.c.row_number > after)
                .order_by(job_rows.c.row_number)
                .limit(batch)
            )
        ).all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].row_number
