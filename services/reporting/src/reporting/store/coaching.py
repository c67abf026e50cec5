"""What coaching reads: the inactive list with course, progress, village and contact, and
the log of who read whose contact (ADR 22). A read of contacts and its log rows are written
in one transaction: no contact leaves without its log row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.regions.sql import under

from .queries import NO_COURSE_ID, lessons_in_version
from .tables import contact_reads, contacts, courses, enrollments, learners, regions

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # never active sorts first
# Where a page of the inactive list ends: last activity, learner, course.
InactivePosition = tuple[datetime, uuid.UUID, uuid.UUID]
# Where a page of the access log ends: read time and id (newest first).
ReadPosition = tuple[datetime, int]


@dataclass(frozen=True)
class ContactRead:
    """One reader of contact details, as the access log names them."""

    viewer: str
    viewer_role: str
    viewer_region: str | None
    route: str


async def inactive_rows(
    conn: AsyncConnection,
    region_code: str,
    days: int,
    now: datetime,
    *,
    course_id: uuid.UUID | None = None,
    limit: int = 50,
    after: InactivePosition | None = None,
) -> list[Any]:
    """A row per inactive learner and open course (a learner without one: one row, no
    course), longest inactive first: lessons done of the course version's, the village's
    name and the contact details (the caller decides who may see them)."""
    last = func.coalesce(learners.c.last_activity_at, NEVER)
    course_key = func.coalesce(enrollments.c.course_id, NO_COURSE_ID)
    open_enrollment = and_(
        enrollments.c.learner_id == learners.c.learner_id,
        ~enrollments.c.withdrawn,
        ~enrollments.c.completed,
    )
    version = and_(
        courses.c.course_id == enrollments.c.course_id,
        courses.c.version == enrollments.c.course_version,
    )
    query = (
        select(
            learners.c.learner_id,
            learners.c.full_name,
            learners.c.village_code,
            learners.c.position,
            learners.c.last_activity_at,
            learners.c.profile_at,
            last.label("last"),
            course_key.label("course_key"),
            enrollments.c.course_id,
            enrollments.c.course_title,
            lessons_in_version(enrollments, courses).label("lessons_done"),
            courses.c.lessons,
            regions.c.name.label("village_name"),
            contacts.c.phone,
            contacts.c.email,
        )
        .select_from(
            learners.outerjoin(enrollments, open_enrollment)
            .outerjoin(courses, version)
            .outerjoin(regions, regions.c.code == learners.c.village_code)
            .outerjoin(contacts, contacts.c.learner_id == learners.c.learner_id)
        )
        .where(
            learners.c.registered,
            under(learners.c.village_code, region_code),
            last < now - timedelta(days=days),
        )
        .order_by(last, learners.c.learner_id, course_key)
        .limit(limit)
    )
    if course_id is not None:
        query = query.where(enrollments.c.course_id == course_id)
    if after is not None:
        query = query.where(tuple_(last, learners.c.learner_id, course_key) > after)
    return list(await conn.execute(query))


async def contact_of(conn: AsyncConnection, learner_id: uuid.UUID) -> Any:
    return (await conn.execute(select(contacts).where(contacts.c.learner_id == learner_id))).first()


async def log_contact_reads(
    conn: AsyncConnection, read: ContactRead, learner_ids: Sequence[uuid.UUID], at: datetime
) -> None:
    """One log row per learner whose contact details are being shown."""
    unique = list(dict.fromkeys(learner_ids))
    if not unique:
        return
    await conn.execute(
        insert(contact_reads),
        [
            {
                "read_at": at,
                "viewer": read.viewer,
                "viewer_role": read.viewer_role,
                "viewer_region": read.viewer_region,
                "learner_id": learner_id,
                "route": read.route,
            }
            for learner_id in unique
        ],
    )


async def contact_reads_page(
    conn: AsyncConnection,
    *,
    learner_id: uuid.UUID | None = None,
    viewer: str | None = None,
    since: datetime | None = None,
    after: ReadPosition | None = None,
    limit: int = 50,
) -> list[Any]:
    """The access log, newest first, ``limit`` rows after ``after``."""
    query = select(contact_reads).order_by(
        contact_reads.c.read_at.desc(), contact_reads.c.read_id.desc()
    )
    if learner_id is not None:
        query = query.where(contact_reads.c.learner_id == learner_id)
    if viewer is not None:
        query = query.where(contact_reads.c.viewer == viewer)
    if since is not None:
        query = query.where(contact_reads.c.read_at >= since)
    if after is not None:
        query = query.where(tuple_(contact_reads.c.read_at, contact_reads.c.read_id) < after)
    return list(await conn.execute(query.limit(limit)))
