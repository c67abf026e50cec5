"""What the enrollment API reads: each query takes a connection and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.regions.sql import under

from ..domain.completion import Missing, Progress, missing_for
from ..domain.model import BulkEnrollment, EnrollmentStatus, Learner, Position, VersionMove
from .rows import course_from_row, learner_from_row
from .tables import (
    certificates,
    cohorts,
    courses,
    enrollments,
    job_rows,
    jobs,
    learners,
    lesson_completions,
    pre_tests,
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


def _moving(move: VersionMove) -> list[Any]:
    """The enrollments a version-move job covers: unfinished, of its course (and cohort),
    not yet on its version."""
    conditions = [
        enrollments.c.course_id == move.course_id,
        enrollments.c.status.in_([EnrollmentStatus.ENROLLED, EnrollmentStatus.IN_PROGRESS]),
        enrollments.c.course_version != move.course_version,
    ]
    if move.cohort is not None:
        conditions.append(enrollments.c.cohort == move.cohort)
    return conditions


async def version_move_count(conn: AsyncConnection, move: VersionMove) -> int:
    query = select(func.count()).select_from(enrollments).where(*_moving(move))
    return int((await conn.execute(query)).scalar_one())


async def version_move_chunk(
    conn: AsyncConnection, move: VersionMove, after: uuid.UUID, limit: int
) -> list[Any]:
    """The next learners of a version-move job, in enrollment id order after ``after``."""
    query = (
        select(enrollments.c.enrollment_id, enrollments.c.learner_id)
        .where(*_moving(move), enrollments.c.enrollment_id > after)
        .order_by(enrollments.c.enrollment_id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


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
        select(enrollments, *CERTIFICATE)
        .join(learners, learners.c.learner_id == enrollments.c.learner_id)
        .outerjoin(certificates, certificates.c.enrollment_id == enrollments.c.enrollment_id)
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


# An enrollment's certificate, if one was issued, beside the enrollment's own columns.
CERTIFICATE = (
    certificates.c.verification_code,
    certificates.c.issued_at.label("certificate_issued_at"),
    certificates.c.revoked.label("certificate_revoked"),
)


async def enrollment(conn: AsyncConnection, enrollment_id: uuid.UUID) -> Row[Any]:
    """An enrollment just written in this transaction, with its certificate."""
    return (
        await conn.execute(
            select(enrollments, *CERTIFICATE)
            .outerjoin(certificates, certificates.c.enrollment_id == enrollments.c.enrollment_id)
            .where(enrollments.c.enrollment_id == enrollment_id)
        )
    ).one()


async def enrollment_with_village(
    conn: AsyncConnection, enrollment_id: uuid.UUID
) -> Row[Any] | None:
    """An enrollment, its certificate and its learner's village, which decides who may see
    it."""
    return (
        await conn.execute(
            select(enrollments, learners.c.village_code, *CERTIFICATE)
            .join(learners, learners.c.learner_id == enrollments.c.learner_id)
            .outerjoin(certificates, certificates.c.enrollment_id == enrollments.c.enrollment_id)
            .where(enrollments.c.enrollment_id == enrollment_id)
        )
    ).first()


# Lessons count in the version the enrollment follows: done in an earlier version, a lesson
# the version also has counts; one it dropped does not.
LESSONS_IN_VERSION = text(
    """
SELECT e.enrollment_id, count(lc.lesson_id) AS lessons
FROM enrollments e
LEFT JOIN courses c ON c.course_id = e.course_id AND c.version = e.course_version
LEFT JOIN lesson_completions lc
       ON lc.learner_id = e.learner_id AND lc.course_id = e.course_id
      AND (c.lesson_ids IS NULL OR c.lesson_ids ? CAST(lc.lesson_id AS text))
WHERE e.enrollment_id = ANY(CAST(:ids AS uuid[]))
GROUP BY e.enrollment_id
"""
)


async def progress_of(conn: AsyncConnection, rows: list[Any]) -> dict[uuid.UUID, int]:
    """Lessons completed per enrollment, counted in the version it follows."""
    if not rows:
        return {}
    found = await conn.execute(LESSONS_IN_VERSION, {"ids": [r.enrollment_id for r in rows]})
    return {row.enrollment_id: int(row.lessons) for row in found}


async def progress_facts(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID
) -> tuple[list[uuid.UUID], bool]:
    """The lessons a learner did in a course and whether they took its pre-test, in one
    statement."""
    lessons = (
        select(func.array_agg(lesson_completions.c.lesson_id))
        .where(
            lesson_completions.c.learner_id == learner_id,
            lesson_completions.c.course_id == course_id,
        )
        .scalar_subquery()
    )
    pre_test = (
        select(pre_tests.c.learner_id)
        .where(pre_tests.c.learner_id == learner_id, pre_tests.c.course_id == course_id)
        .exists()
    )
    found = (await conn.execute(select(lessons.label("lessons"), pre_test.label("pre_test")))).one()
    return list(found.lessons or ()), bool(found.pre_test)


async def pre_test_taken(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID
) -> bool:
    found = await conn.execute(
        select(pre_tests.c.learner_id).where(
            pre_tests.c.learner_id == learner_id, pre_tests.c.course_id == course_id
        )
    )
    return found.first() is not None


async def completion_of(conn: AsyncConnection, row: Any) -> list[Missing] | None:
    """What the enrollment's version still asks of its learner (None: version unknown)."""
    found = (
        await conn.execute(
            select(courses).where(
                courses.c.course_id == row.course_id, courses.c.version == row.course_version
            )
        )
    ).first()
    if found is None:
        return None
    course = course_from_row(found)
    done = await conn.execute(
        select(lesson_completions.c.lesson_id).where(
            lesson_completions.c.learner_id == row.learner_id,
            lesson_completions.c.course_id == row.course_id,
        )
    )
    completed = await conn.execute(
        select(enrollments.c.course_id).where(
            enrollments.c.learner_id == row.learner_id,
            enrollments.c.status == EnrollmentStatus.COMPLETED.value,
        )
    )
    progress = Progress(
        frozenset(done.scalars()),
        await pre_test_taken(conn, row.learner_id, row.course_id),
        row.post_test_score,
        frozenset(completed.scalars()),
    )
    titles = await course_titles(conn, course.rules.prerequisite_course_ids)
    return missing_for(course, progress, titles)


async def course_titles(
    conn: AsyncConnection, course_ids: tuple[uuid.UUID, ...]
) -> dict[uuid.UUID, str]:
    """The latest known title of each course."""
    if not course_ids:
        return {}
    rows = await conn.execute(
        select(courses.c.course_id, courses.c.title)
        .where(courses.c.course_id.in_(course_ids))
        .order_by(courses.c.version)
    )
    return {row.course_id: row.title for row in rows}


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
    """A certificate, with its learner's village today (for certificates issued before the
    village was kept with them)."""
    return (
        await conn.execute(
            select(certificates, learners.c.village_code.label("learner_village"))
            .join(learners, learners.c.learner_id == certificates.c.learner_id)
            .where(certificates.c.verification_code == verification_code)
        )
    ).first()


async def certificates_page(
    conn: AsyncConnection,
    *,
    village_prefix: str | None,
    own_learner_id: uuid.UUID | None,
    course_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit + 1`` certificates in id order after ``after``: of a region (where the
    official served when certified), of one learner, or all."""
    village = func.coalesce(certificates.c.village_code, learners.c.village_code)
    query = (
        select(certificates, learners.c.village_code.label("learner_village"))
        .join(learners, learners.c.learner_id == certificates.c.learner_id)
        .order_by(certificates.c.certificate_id)
        .limit(limit + 1)
    )
    if village_prefix:
        query = query.where(under(village, village_prefix))
    if own_learner_id:
        query = query.where(certificates.c.learner_id == own_learner_id)
    if course_id:
        query = query.where(certificates.c.course_id == course_id)
    if after:
        query = query.where(certificates.c.certificate_id > after)
    return list((await conn.execute(query)).all())


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
