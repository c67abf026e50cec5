"""Read queries: a region's totals and its children's from a handful of rollup rows, a
learner's enrollments, a course's versions (learners to coach: ``coaching.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import ACTIVITY_PREFIXES, SCALE
from .tables import (
    COUNTERS,
    NO_COURSE,
    activity,
    courses,
    enrollments,
    learners,
    regions,
    rollups,
)

NO_COURSE_ID = uuid.UUID(NO_COURSE)
LEVELS = ["national", "province", "regency", "district", "village"]


@dataclass(frozen=True)
class Filters:
    course_id: uuid.UUID | None = None
    cohort: str | None = None
    position: str | None = None


def _conditions(filters: Filters) -> list[Any]:
    conditions = []
    no_course = rollups.c.course_id == uuid.UUID(NO_COURSE)
    if filters.course_id is not None:
        conditions.append(or_(rollups.c.course_id == filters.course_id, no_course))
    if filters.cohort is not None:
        conditions.append(or_(rollups.c.cohort == filters.cohort, no_course))
    if filters.position is not None:
        conditions.append(rollups.c.position == filters.position)
    return conditions


def totals_of(row: Any, active: int, *, per_course: bool = False) -> dict[str, Any]:
    """A region's counters; ``per_course``: of one course, whose learners are those enrolled
    in it, withdrawn or not (not every learner registered in the region)."""
    values = {name: (getattr(row, name) or 0) if row is not None else 0 for name in COUNTERS}
    if per_course:
        values["registered"] = values["enrolled"] + values["withdrawn"]

    def average(total: str, count: str) -> float | None:
        return (
            round(float(values[total]) / SCALE / int(values[count]), 2) if values[count] else None
        )

    enrolled, taken = int(values["enrolled"]), int(values["post_test_count"])
    return {
        "registered": int(values["registered"]),
        "enrolled": enrolled,
        "active": active,
        "withdrawn": int(values["withdrawn"]),
        "completed": int(values["completed"]),
        "post_test_taken": taken,
        "passed": int(values["passed"]),
        "failed": int(values["failed"]),
        "certified": int(values["certified"]),
        "revoked": int(values["revoked"]),
        "completion_rate": rate(int(values["completed"]), enrolled),
        "pass_rate": rate(int(values["passed"]), taken),
        "avg_pre_test": average("pre_test_sum", "pre_test_count"),
        "avg_post_test": average("post_test_sum", "post_test_count"),
        "avg_improvement": average("improvement_sum", "improvement_count"),
    }


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


async def region(conn: AsyncConnection, code: str) -> Any:
    return (await conn.execute(select(regions).where(regions.c.code == code))).first()


async def rollup_sums(conn: AsyncConnection, codes: list[str], filters: Filters) -> dict[str, Any]:
    query = (
        select(rollups.c.region_code, *(func.sum(rollups.c[n]).label(n) for n in COUNTERS))
        .where(rollups.c.region_code.in_(codes), *_conditions(filters))
        .group_by(rollups.c.region_code)
    )
    return {row.region_code: row for row in await conn.execute(query)}


async def active_counts(
    conn: AsyncConnection,
    parent: str,
    codes: list[str],
    filters: Filters,
    days: int,
    now: datetime,
) -> dict[str, int]:
    """Learners (or, filtered by course or cohort, enrollments) active in the last ``days``.

    Nation, provinces and regencies sum their per-day activity buckets: a few rows per region
    and day, whatever the number of learners or events. Districts and villages count their
    own learners' rows (tens to a few hundred, found by the village code index); both give
    the same numbers, so children still add up to their parent.
    """
    since = (now - timedelta(days=days)).date()
    bucketed = [code for code in codes if len(code) in ACTIVITY_PREFIXES]
    counted: dict[str, int] = {}
    if bucketed:
        counted |= await _bucket_counts(conn, bucketed, filters, since)
    for length in sorted({len(code) for code in codes if len(code) not in ACTIVITY_PREFIXES}):
        counted |= await _row_counts(conn, parent, length, filters, since)
    return counted


async def _bucket_counts(
    conn: AsyncConnection, codes: list[str], filters: Filters, since: date
) -> dict[str, int]:
    conditions = [
        activity.c.region_code.in_(codes),
        activity.c.day > since,
        activity.c.course_id != NO_COURSE_ID
        if _per_enrollment(filters)
        else activity.c.course_id == NO_COURSE_ID,
    ]
    if filters.course_id is not None:
        conditions.append(activity.c.course_id == filters.course_id)
    if filters.cohort is not None:
        conditions.append(activity.c.cohort == filters.cohort)
    if filters.position is not None:
        conditions.append(activity.c.position == filters.position)
    query = (
        select(activity.c.region_code, func.sum(activity.c.learners).label("n"))
        .where(*conditions)
        .group_by(activity.c.region_code)
    )
    return {row.region_code: int(row.n) for row in await conn.execute(query)}


async def _row_counts(
    conn: AsyncConnection, prefix: str, length: int, filters: Filters, since: date
) -> dict[str, int]:
    """Active rows under ``prefix``, per region code of ``length`` (a day counts from 00:00 UTC,
    as the buckets do).

    Every counted row of the region is grouped, active or not, and the activity is a filter
    of the count, so the work is the region's learners whatever share of them was active
    (ADR 8). Enrollments are counted from their village code index alone, which carries what
    the count reads: visiting their rows, rewritten with every lesson done, made a regency's
    report up to 1.5 times slower at the end of a national rollout than at its start."""
    table = enrollments if _per_enrollment(filters) else learners
    conditions = [
        table.c.village_code >= prefix,
        table.c.village_code < prefix + "\x7f",  # every code below the prefix (collation C)
    ]
    if table is enrollments:
        conditions += [enrollments.c.enrollment_id.is_not(None), ~enrollments.c.withdrawn]
        if filters.course_id is not None:
            conditions.append(enrollments.c.course_id == filters.course_id)
        if filters.cohort is not None:
            conditions.append(enrollments.c.cohort == filters.cohort)
        is_active = enrollments.c.last_active_on > since
    else:
        conditions.append(learners.c.registered)
        is_active = learners.c.last_activity_at >= datetime.combine(
            since + timedelta(days=1), time.min, UTC
        )
    if filters.position is not None:
        conditions.append(table.c.position == filters.position)
    code = func.left(table.c.village_code, length)
    active = func.count().filter(is_active)
    query = select(code.label("code"), active.label("n")).where(*conditions).group_by(code)
    return {row.code: int(row.n) for row in await conn.execute(query)}


def _per_enrollment(filters: Filters) -> bool:
    return filters.course_id is not None or filters.cohort is not None


def region_out(row: Any) -> dict[str, Any]:
    return {"code": row.code or "national", "name": row.name, "level": LEVELS[row.level]}


async def region_report(
    conn: AsyncConnection,
    code: str,
    filters: Filters,
    days: int,
    now: datetime,
    *,
    per_course: bool = False,
) -> dict[str, Any] | None:
    """The region's totals and each child's, children with no learners included.
    ``per_course``: a course's report, whose registered learners are the course's."""
    this = await region(conn, code)
    if this is None:
        return None
    children = list(
        await conn.execute(
            select(regions).where(regions.c.parent_code == code).order_by(regions.c.code)
        )
    )
    codes = [code, *(child.code for child in children)]
    sums = await rollup_sums(conn, codes, filters)
    active = await active_counts(conn, code, codes, filters, days, now)
    return {
        "region": region_out(this),
        "filters": {
            "course_id": str(filters.course_id) if filters.course_id else None,
            "cohort": filters.cohort,
            "position": filters.position,
            "active_days": days,
        },
        "totals": totals_of(sums.get(code), active.get(code, 0), per_course=per_course),
        "children": [
            {
                "region": region_out(child),
                "totals": totals_of(
                    sums.get(child.code), active.get(child.code, 0), per_course=per_course
                ),
            }
            for child in children
        ],
    }


async def learner(conn: AsyncConnection, learner_id: uuid.UUID) -> Any:
    return (await conn.execute(select(learners).where(learners.c.learner_id == learner_id))).first()


def lessons_in_version(enrollment: FromClause, version: FromClause) -> ColumnElement[int]:
    """The lessons done that the enrollment's course version has: after a move to another
    version, lessons of the old one that the new one also has count, others do not (all done
    for a version projected before its lessons were kept). Every progress share (learner
    report, inactive list, dashboard, exports) is this over the version's lessons."""
    done = func.unnest(enrollment.c.lesson_ids).table_valued("lesson_id").render_derived("done")
    shared = (
        select(func.count(done.c.lesson_id.distinct()))
        .where(done.c.lesson_id == func.any(version.c.lesson_ids))
        .scalar_subquery()
    )
    return case((version.c.lesson_ids.is_(None), enrollment.c.lessons_done), else_=shared)


async def enrollments_of(conn: AsyncConnection, learner_id: uuid.UUID) -> list[Any]:
    """A learner's enrollments with their progress in the version each follows."""
    query = (
        select(
            enrollments,
            courses.c.lessons.label("version_lessons"),
            courses.c.required_lessons.label("version_required_lessons"),
            lessons_in_version(enrollments, courses).label("lessons_in_version"),
        )
        .select_from(enrollments)
        .join(
            courses,
            and_(
                courses.c.course_id == enrollments.c.course_id,
                courses.c.version == enrollments.c.course_version,
            ),
            isouter=True,
        )
        .where(enrollments.c.learner_id == learner_id)
        .order_by(enrollments.c.enrolled_at.asc().nulls_last(), enrollments.c.course_id)
    )
    return list(await conn.execute(query))


async def course_versions(conn: AsyncConnection, course_id: uuid.UUID) -> list[Any]:
    """A course's published versions, oldest first."""
    return list(
        await conn.execute(
            select(courses).where(courses.c.course_id == course_id).order_by(courses.c.version)
        )
    )
