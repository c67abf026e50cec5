"""The catalog side of the unit of work: courses, their versions and lessons, attachments."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.errors import CourseCodeTaken
from ..domain.model import Attachment, CourseVersion, VersionStatus
from ..domain.packages import Media
from .queries import load_version, media_of
from .tables import attachments, course_versions, courses, lessons, modules


class CatalogStore:
    conn: AsyncConnection

    async def latest_version(
        self, course_id: uuid.UUID, *, lock: bool = False
    ) -> CourseVersion | None:
        return await load_version(self.conn, course_id, lock=lock)

    async def version(self, course_id: uuid.UUID, version: int) -> CourseVersion | None:
        return await load_version(self.conn, course_id, version)

    async def add_course(self, course: CourseVersion, author: str) -> None:
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    courses.insert().values(
                        course_id=course.course_id,
                        code=course.code,
                        latest_version=course.version,
                        created_by=author,
                        created_at=course.created_at,
                    )
                )
        except IntegrityError as exc:
            raise CourseCodeTaken(course.code) from exc
        await self.save_version(course)

    async def save_version(self, course: CourseVersion) -> None:
        """Write a draft (replacing its modules and lessons) or mark it published."""
        values = {
            "status": course.status.value,
            "title": course.title,
            "description": course.description,
            "competency_area": course.competency_area,
            "created_at": course.created_at,
            "published_at": course.published_at,
            "pre_test_before_lessons": course.rules.pre_test_before_lessons,
            "min_post_test_score": course.rules.min_post_test_score,
            "prerequisite_course_ids": [str(x) for x in course.rules.prerequisite_course_ids],
            "training_hours": course.training_hours,
        }
        statement = insert(course_versions).values(
            course_id=course.course_id, version=course.version, **values
        )
        await self.conn.execute(
            statement.on_conflict_do_update(index_elements=["course_id", "version"], set_=values)
        )
        course_values: dict[str, Any] = {"latest_version": course.version}
        if course.status == VersionStatus.PUBLISHED:
            course_values["published_version"] = course.version
        await self.conn.execute(
            update(courses).where(courses.c.course_id == course.course_id).values(**course_values)
        )
        if course.status == VersionStatus.DRAFT:
            await self._replace_outline(course)

    async def _replace_outline(self, course: CourseVersion) -> None:
        key = and_(lessons.c.course_id == course.course_id, lessons.c.version == course.version)
        await self.conn.execute(delete(lessons).where(key))
        await self.conn.execute(
            delete(modules).where(
                modules.c.course_id == course.course_id, modules.c.version == course.version
            )
        )
        module_rows, lesson_rows = _outline_rows(course)
        if module_rows:
            await self.conn.execute(modules.insert(), module_rows)
        if lesson_rows:
            await self.conn.execute(lessons.insert(), lesson_rows)

    async def lesson_ids_of_course(self, course_id: uuid.UUID) -> set[uuid.UUID]:
        return set(
            (
                await self.conn.execute(
                    select(lessons.c.lesson_id).distinct().where(lessons.c.course_id == course_id)
                )
            ).scalars()
        )

    async def missing_attachments(
        self, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        found = set(
            (
                await self.conn.execute(
                    select(attachments.c.attachment_id).where(
                        attachments.c.course_id == course_id,
                        attachments.c.attachment_id.in_(attachment_ids),
                    )
                )
            ).scalars()
        )
        return set(attachment_ids) - found

    async def course_exists(self, course_id: uuid.UUID) -> bool:
        return (await self.existing_courses([course_id])) == {course_id}

    async def existing_courses(self, course_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(course_ids)
        if not wanted:
            return set()
        return set(
            (
                await self.conn.execute(
                    select(courses.c.course_id).where(courses.c.course_id.in_(wanted))
                )
            ).scalars()
        )

    async def media_of(
        self, course_id: uuid.UUID, attachment_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, Media]:
        return await media_of(self.conn, course_id, attachment_ids)

    async def add_attachment(self, attachment: Attachment) -> None:
        await self.conn.execute(
            attachments.insert().values(
                attachment_id=attachment.attachment_id,
                course_id=attachment.course_id,
                filename=attachment.filename,
                media_type=attachment.media_type,
                size_bytes=attachment.size_bytes,
                sha256=attachment.sha256,
                created_by=attachment.created_by,
                created_at=attachment.created_at,
            )
        )


def _outline_rows(course: CourseVersion) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The version's modules and lessons as rows, in the order the author wrote them."""
    module_rows: list[dict[str, Any]] = []
    lesson_rows: list[dict[str, Any]] = []
    for m, module in enumerate(course.modules):
        module_rows.append(
            {
                "course_id": course.course_id,
                "version": course.version,
                "module_id": module.module_id,
                "position": m,
                "title": module.title,
            }
        )
        for lesson in module.lessons:
            lesson_rows.append(
                {
                    "course_id": course.course_id,
                    "version": course.version,
                    "lesson_id": lesson.lesson_id,
                    "module_id": module.module_id,
                    "position": len(lesson_rows),
                    "title": lesson.title,
                    "kind": lesson.kind.value,
                    "required": lesson.required,
                    "body": lesson.body,
                    "url": lesson.url,
                    "duration_seconds": lesson.duration_seconds,
                    "attachment_id": lesson.attachment_id,
                }
            )
    return module_rows, lesson_rows
