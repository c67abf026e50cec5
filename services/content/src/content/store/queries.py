"""What the content API reads: course versions, the catalog, attachments and progress."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import (
    CompletionRules,
    CourseVersion,
    Lesson,
    LessonKind,
    Module,
    VersionStatus,
)
from ..domain.packages import Media
from .tables import (
    attachments,
    course_versions,
    courses,
    enrollments,
    lesson_progress,
    lessons,
    modules,
)


async def load_version(
    conn: AsyncConnection,
    course_id: uuid.UUID,
    version: int | None = None,
    *,
    published_only: bool = False,
    lock: bool = False,
) -> CourseVersion | None:
    """A version with its modules and lessons; the latest one when ``version`` is None.

    ``lock`` serialises authors of one course on its catalog row."""
    if lock:
        await conn.execute(
            select(courses.c.course_id).where(courses.c.course_id == course_id).with_for_update()
        )
    query = (
        select(course_versions, courses.c.code)
        .join(courses, courses.c.course_id == course_versions.c.course_id)
        .where(course_versions.c.course_id == course_id)
    )
    if version is not None:
        query = query.where(course_versions.c.version == version)
    if published_only:
        query = query.where(course_versions.c.status == VersionStatus.PUBLISHED.value)
    query = query.order_by(course_versions.c.version.desc()).limit(1)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return await _hydrate(conn, row)


async def _hydrate(conn: AsyncConnection, row: Any) -> CourseVersion:
    module_rows = (
        await conn.execute(
            select(modules)
            .where(modules.c.course_id == row.course_id, modules.c.version == row.version)
            .order_by(modules.c.position)
        )
    ).all()
    lesson_rows = (
        await conn.execute(
            select(lessons)
            .where(lessons.c.course_id == row.course_id, lessons.c.version == row.version)
            .order_by(lessons.c.position)
        )
    ).all()
    by_module: dict[uuid.UUID, list[Lesson]] = defaultdict(list)
    for lesson in lesson_rows:
        by_module[lesson.module_id].append(
            Lesson(
                lesson_id=lesson.lesson_id,
                title=lesson.title,
                kind=LessonKind(lesson.kind),
                required=lesson.required,
                body=lesson.body,
                url=lesson.url,
                duration_seconds=lesson.duration_seconds,
                attachment_id=lesson.attachment_id,
            )
        )
    return CourseVersion(
        course_id=row.course_id,
        version=row.version,
        code=row.code,
        title=row.title,
        status=VersionStatus(row.status),
        modules=tuple(
            Module(m.module_id, m.title, tuple(by_module[m.module_id])) for m in module_rows
        ),
        description=row.description,
        competency_area=row.competency_area,
        created_at=row.created_at,
        published_at=row.published_at,
        rules=CompletionRules(
            pre_test_before_lessons=row.pre_test_before_lessons,
            min_post_test_score=row.min_post_test_score,
            prerequisite_course_ids=tuple(uuid.UUID(x) for x in row.prerequisite_course_ids),
        ),
        training_hours=row.training_hours,
    )


async def enrolled_version(
    conn: AsyncConnection, learner_id: uuid.UUID | None, course_id: uuid.UUID
) -> int | None:
    """The course version the learner is enrolled in, if they are."""
    if learner_id is None:
        return None
    return (
        await conn.execute(
            select(enrollments.c.course_version)
            .where(
                enrollments.c.learner_id == learner_id,
                enrollments.c.course_id == course_id,
                enrollments.c.withdrawn_at.is_(None),
                enrollments.c.course_version.is_not(None),
            )
            .order_by(enrollments.c.enrolled_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def catalog_page(
    conn: AsyncConnection, *, drafts: bool, after_code: str | None, limit: int
) -> Sequence[Row[Any]]:
    """Up to ``limit + 1`` courses by code, each with its latest version (``drafts``) or its
    published one; the extra row says whether there is a next page."""
    shown = courses.c.latest_version if drafts else courses.c.published_version
    query = (
        select(
            courses,
            course_versions.c.title,
            course_versions.c.competency_area,
            course_versions.c.status,
        )
        .join(
            course_versions,
            and_(
                course_versions.c.course_id == courses.c.course_id,
                course_versions.c.version == shown,
            ),
        )
        .order_by(courses.c.code)
        .limit(limit + 1)
    )
    if after_code is not None:
        query = query.where(courses.c.code > after_code)
    return (await conn.execute(query)).all()


async def lesson_completed_at(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> datetime | None:
    return (
        await conn.execute(
            select(lesson_progress.c.completed_at).where(
                lesson_progress.c.learner_id == learner_id,
                lesson_progress.c.course_id == course_id,
                lesson_progress.c.lesson_id == lesson_id,
            )
        )
    ).scalar_one_or_none()


async def progress_of(
    conn: AsyncConnection, learner_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Row[Any]]:
    """The learner's completed lessons of a course, in the order they were completed."""
    return (
        await conn.execute(
            select(lesson_progress)
            .where(
                lesson_progress.c.learner_id == learner_id,
                lesson_progress.c.course_id == course_id,
            )
            .order_by(lesson_progress.c.completed_at)
        )
    ).all()


async def course_exists(conn: AsyncConnection, course_id: uuid.UUID) -> bool:
    found = await conn.execute(select(courses.c.course_id).where(courses.c.course_id == course_id))
    return found.first() is not None


async def attachments_of(conn: AsyncConnection, course_id: uuid.UUID) -> Sequence[Row[Any]]:
    return (
        await conn.execute(
            select(attachments)
            .where(attachments.c.course_id == course_id)
            .order_by(attachments.c.created_at)
        )
    ).all()


async def attachment(
    conn: AsyncConnection, course_id: uuid.UUID, attachment_id: uuid.UUID
) -> Row[Any] | None:
    return (
        await conn.execute(
            select(attachments).where(
                attachments.c.attachment_id == attachment_id,
                attachments.c.course_id == course_id,
            )
        )
    ).first()


async def attachments_in(
    conn: AsyncConnection, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
) -> Sequence[Row[Any]]:
    """The course's attachments among ``attachment_ids`` (none asked, none read)."""
    if not attachment_ids:
        return []
    return (
        await conn.execute(
            select(attachments).where(
                attachments.c.course_id == course_id,
                attachments.c.attachment_id.in_(attachment_ids),
            )
        )
    ).all()


async def media_of(
    conn: AsyncConnection, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Media]:
    """The course's attachments among ``attachment_ids``, as packages carry them."""
    return {
        row.attachment_id: Media(
            attachment_id=row.attachment_id,
            filename=row.filename,
            media_type=row.media_type,
            size_bytes=int(row.size_bytes),
            sha256=row.sha256,
        )
        for row in await attachments_in(conn, course_id, attachment_ids)
    }
