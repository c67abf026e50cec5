"""Read queries for the dashboard and the learner-level export: a region's officials with
their enrollments, a weekly trend, and what the filters can choose from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .queries import Filters, lessons_in_version
from .tables import courses, enrollments, learners, regions, rollups


def _under(column: Any, prefix: str) -> list[Any]:
    """Every code below ``prefix`` (collation C: a range of the village code index)."""
    return [column >= prefix, column < prefix + "\x7f"]


async def region_officials(
    conn: AsyncConnection, region_code: str, filters: Filters, limit: int
) -> list[Any]:
    """Registered learners under ``region_code``, each with each of their enrollments (or
    none), their village's name, the lessons their course version has and how many of
    them they did; by village,
    name and course. ``limit`` rows at most."""
    enrollment_on = and_(
        enrollments.c.learner_id == learners.c.learner_id,
        enrollments.c.enrollment_id.is_not(None),
    )
    if filters.course_id is not None:
        enrollment_on = and_(enrollment_on, enrollments.c.course_id == filters.course_id)
    if filters.cohort is not None:
        enrollment_on = and_(enrollment_on, enrollments.c.cohort == filters.cohort)
    village = regions.alias("village")
    query = (
        select(
            learners.c.learner_id,
            learners.c.full_name,
            learners.c.village_code,
            learners.c.position,
            learners.c.last_activity_at.label("learner_last_activity_at"),
            village.c.name.label("village_name"),
            enrollments.c.course_id,
            enrollments.c.course_title,
            enrollments.c.cohort,
            lessons_in_version(enrollments, courses).label("lessons_done"),
            enrollments.c.pre_test_score,
            enrollments.c.post_test_score,
            enrollments.c.passed,
            enrollments.c.completed,
            enrollments.c.certified,
            enrollments.c.withdrawn,
            enrollments.c.last_activity_at,
            courses.c.lessons,
        )
        .select_from(learners)
        .join(village, village.c.code == learners.c.village_code, isouter=True)
        .join(enrollments, enrollment_on, isouter=filters.course_id is None and not filters.cohort)
        .join(
            courses,
            and_(
                courses.c.course_id == enrollments.c.course_id,
                courses.c.version == enrollments.c.course_version,
            ),
            isouter=True,
        )
        .where(learners.c.registered, *_under(learners.c.village_code, region_code))
        .order_by(
            learners.c.village_code,
            learners.c.full_name,
            learners.c.learner_id,
            enrollments.c.course_title,
        )
        .limit(limit)
    )
    if filters.position is not None:
        query = query.where(learners.c.position == filters.position)
    return list(await conn.execute(query))


@dataclass(frozen=True)
class Week:
    starts_on: date
    enrolled: int
    completed: int


async def weekly_trend(
    conn: AsyncConnection, region_code: str, filters: Filters, now: datetime, weeks: int = 12
) -> list[Week]:
    """Per week (Monday, UTC) of the last ``weeks``: enrollments made, and enrollments
    completed whose last activity (the lesson or test that completed them, or later) fell in
    it."""
    this_monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    conditions = [
        *_under(enrollments.c.village_code, region_code),
        enrollments.c.enrollment_id.is_not(None),
    ]
    if filters.course_id is not None:
        conditions.append(enrollments.c.course_id == filters.course_id)
    if filters.cohort is not None:
        conditions.append(enrollments.c.cohort == filters.cohort)
    if filters.position is not None:
        conditions.append(enrollments.c.position == filters.position)
    counted: dict[str, dict[date, int]] = {}
    for name, moment, extra in (
        ("enrolled", enrollments.c.enrolled_at, []),
        ("completed", enrollments.c.last_activity_at, [enrollments.c.completed]),
    ):
        week = cast(func.date_trunc("week", func.timezone("UTC", moment)), Date)
        query = (
            select(week.label("week"), func.count().label("n"))
            .where(*conditions, *extra, moment >= since)
            .group_by(week)
        )
        counted[name] = {row.week: int(row.n) for row in await conn.execute(query)}
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    return [
        Week(day, counted["enrolled"].get(day, 0), counted["completed"].get(day, 0))
        for day in starts
    ]


async def course_choices(conn: AsyncConnection) -> list[tuple[uuid.UUID, str]]:
    """Each published course once, by the title of its newest version."""
    newest = (
        select(courses.c.course_id, func.max(courses.c.version).label("version"))
        .group_by(courses.c.course_id)
        .subquery()
    )
    query = (
        select(courses.c.course_id, courses.c.title)
        .join(
            newest,
            and_(newest.c.course_id == courses.c.course_id, newest.c.version == courses.c.version),
        )
        .order_by(courses.c.title)
    )
    return [(row.course_id, row.title) for row in await conn.execute(query)]


async def cohort_choices(conn: AsyncConnection, region_code: str) -> list[str]:
    """The cohorts with enrollments in the region (from its few rollup rows)."""
    query = (
        select(rollups.c.cohort)
        .distinct()
        .where(rollups.c.region_code == region_code, rollups.c.cohort != "")
        .order_by(rollups.c.cohort)
    )
    return [row[0] for row in await conn.execute(query)]


async def region_names(conn: AsyncConnection, codes: list[str]) -> dict[str, str]:
    query = select(regions.c.code, regions.c.name).where(regions.c.code.in_(codes))
    return {row.code: row.name for row in await conn.execute(query)}
