"""SQL unit of work: the content domain's view of its tables inside one transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.database import Transaction
from servicekit.outbox import NOTIFY_CHANNEL

from ..domain import commands
from ..domain.errors import CourseCodeTaken
from ..domain.events import DomainEvent, LessonCompleted
from ..domain.model import (
    Completion,
    CourseVersion,
    Enrollment,
    Lesson,
    LessonKind,
    Module,
    OfflineCompletion,
    SyncResult,
    VersionStatus,
)
from ..events.outbound import to_contract
from .tables import (
    attachments,
    course_versions,
    courses,
    enrollments,
    lesson_progress,
    lessons,
    modules,
    sync_receipts,
)

# Recording a lesson online is the hot path: one read, then (the first time only) one
# statement that inserts the progress row and its outbox event atomically, so that neither
# BEGIN nor COMMIT costs a round trip. The insert re-checks the enrollment it was read with.
FIND_COMPLETION = text(
    """
SELECT e.course_version, e.village_code,
       EXISTS (SELECT 1 FROM lessons l
                WHERE l.course_id = CAST(:course_id AS uuid) AND l.version = e.course_version
                  AND l.lesson_id = CAST(:lesson_id AS uuid)) AS in_version,
       (SELECT p.completed_at FROM lesson_progress p
         WHERE p.learner_id = CAST(:learner_id AS uuid) AND p.course_id = CAST(:course_id AS uuid)
           AND p.lesson_id = CAST(:lesson_id AS uuid)) AS completed_at
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT course_version, village_code FROM enrollments
    WHERE learner_id = CAST(:learner_id AS uuid) AND course_id = CAST(:course_id AS uuid)
      AND withdrawn_at IS NULL AND course_version IS NOT NULL
    ORDER BY enrolled_at DESC LIMIT 1
) AS e ON true
"""
)

ADD_COMPLETION = text(
    """
WITH ins AS (
    INSERT INTO lesson_progress
        (learner_id, course_id, lesson_id, course_version, completed_at, recorded_at, offline)
    SELECT CAST(:learner_id AS uuid), CAST(:course_id AS uuid), CAST(:lesson_id AS uuid),
           CAST(:course_version AS integer), CAST(:at AS timestamptz), CAST(:at AS timestamptz),
           false
    WHERE EXISTS (
        SELECT 1 FROM enrollments
        WHERE learner_id = CAST(:learner_id AS uuid) AND course_id = CAST(:course_id AS uuid)
          AND withdrawn_at IS NULL AND course_version = CAST(:course_version AS integer))
    ON CONFLICT DO NOTHING
    RETURNING 1
), event AS (
    INSERT INTO outbox (event_id, subject, event_type, payload, correlation_id)
    SELECT CAST(:event_id AS uuid), CAST(:subject AS text), CAST(:event_type AS text),
           CAST(:payload AS bytea), CAST(:correlation_id AS text)
    FROM ins
    RETURNING 1
)
SELECT count(*) AS recorded FROM (SELECT pg_notify(CAST(:channel AS text), '') FROM event) AS n
"""
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
    )


def _enrollment_from_row(row: Any) -> Enrollment:
    return Enrollment(
        enrollment_id=row.enrollment_id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        course_version=row.course_version,
        village_code=row.village_code,
        enrolled_at=row.enrolled_at,
        withdrawn_at=row.withdrawn_at,
    )


class SqlUnitOfWork:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def flush_events(self) -> None:
        for event in self.events:
            await self.tx.emit(to_contract(event))
        self.events.clear()

    # catalog
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
            raise CourseCodeTaken(f"a course with code {course.code!r} exists") from exc
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

    # enrollments learnt from events
    async def record_enrollment(self, enrollment: Enrollment) -> None:
        statement = insert(enrollments).values(
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_version=enrollment.course_version,
            village_code=enrollment.village_code,
            enrolled_at=enrollment.enrolled_at,
        )
        # the withdrawal may have arrived first: keep it, fill in what it did not know
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={
                    "course_version": statement.excluded.course_version,
                    "enrolled_at": statement.excluded.enrolled_at,
                },
                where=enrollments.c.enrolled_at.is_(None),
            )
        )

    async def record_withdrawal(self, cmd: commands.RecordWithdrawal) -> None:
        statement = insert(enrollments).values(
            enrollment_id=cmd.enrollment_id,
            learner_id=cmd.learner_id,
            course_id=cmd.course_id,
            village_code=cmd.village_code,
            withdrawn_at=cmd.withdrawn_at,
        )
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={"withdrawn_at": statement.excluded.withdrawn_at},
            )
        )

    async def move_learner(self, learner_id: uuid.UUID, course_id: uuid.UUID, version: int) -> bool:
        result = await self.conn.execute(
            update(enrollments)
            .where(
                enrollments.c.learner_id == learner_id,
                enrollments.c.course_id == course_id,
                enrollments.c.withdrawn_at.is_(None),
                enrollments.c.enrolled_at.is_not(None),
            )
            .values(course_version=version)
        )
        return bool(result.rowcount)

    # progress
    async def find_completion(
        self, learner_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
    ) -> Completion:
        row = (
            await self.conn.execute(
                FIND_COMPLETION,
                {"learner_id": learner_id, "course_id": course_id, "lesson_id": lesson_id},
            )
        ).one()
        return Completion(
            course_version=row.course_version,
            village_code=row.village_code,
            lesson_in_version=row.in_version,
            recorded=False,
            completed_at=row.completed_at,
        )

    async def add_completion(self, event: LessonCompleted) -> bool:
        """Store an online completion and its event in one statement; False if it was
        there already or the enrollment changed meanwhile."""
        _, outbox_values = self.tx.outbox.row(
            to_contract(event),
            correlation_id=self.tx.correlation_id,
            causation_id=self.tx.causation_id,
        )
        row = (
            await self.conn.execute(
                ADD_COMPLETION,
                {
                    "learner_id": event.learner_id,
                    "course_id": event.course_id,
                    "lesson_id": event.lesson_id,
                    "course_version": event.course_version,
                    "at": event.completed_at,
                    **outbox_values,
                    "channel": NOTIFY_CHANNEL,
                },
            )
        ).one()
        return bool(row.recorded)

    async def lock_learner(self, learner_id: uuid.UUID) -> None:
        await self.conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"content-sync:{learner_id}"},
        )

    async def seen_client_ids(self, learner_id: uuid.UUID, client_ids: list[str]) -> set[str]:
        if not client_ids:
            return set()
        return set(
            (
                await self.conn.execute(
                    select(sync_receipts.c.client_id).where(
                        sync_receipts.c.learner_id == learner_id,
                        sync_receipts.c.client_id.in_(set(client_ids)),
                    )
                )
            ).scalars()
        )

    async def enrollments_of(
        self, learner_id: uuid.UUID, course_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[Enrollment]]:
        wanted = list(course_ids)
        found: dict[uuid.UUID, list[Enrollment]] = defaultdict(list)
        if not wanted:
            return found
        rows = (
            await self.conn.execute(
                select(enrollments)
                .where(
                    enrollments.c.learner_id == learner_id,
                    enrollments.c.course_id.in_(wanted),
                    enrollments.c.enrolled_at.is_not(None),
                )
                # the active enrollment first, then the most recent ones
                .order_by(enrollments.c.withdrawn_at.desc().nulls_first())
            )
        ).all()
        for row in rows:
            found[row.course_id].append(_enrollment_from_row(row))
        return found

    async def lessons_of_versions(
        self, keys: Iterable[tuple[uuid.UUID, int]]
    ) -> dict[tuple[uuid.UUID, int], set[uuid.UUID]]:
        wanted = list(keys)
        found: dict[tuple[uuid.UUID, int], set[uuid.UUID]] = defaultdict(set)
        if not wanted:
            return found
        rows = await self.conn.execute(
            select(lessons.c.course_id, lessons.c.version, lessons.c.lesson_id).where(
                tuple_(lessons.c.course_id, lessons.c.version).in_(wanted)
            )
        )
        for row in rows:
            found[(row.course_id, row.version)].add(row.lesson_id)
        return found

    async def add_offline_progress(
        self,
        learner_id: uuid.UUID,
        accepted: list[tuple[OfflineCompletion, Enrollment]],
        recorded_at: datetime,
    ) -> set[str]:
        if not accepted:
            return set()
        rows = [
            {
                "learner_id": learner_id,
                "course_id": item.course_id,
                "lesson_id": item.lesson_id,
                "course_version": enrollment.course_version,
                "completed_at": item.completed_at,
                "recorded_at": recorded_at,
                "offline": True,
            }
            for item, enrollment in accepted
        ]
        inserted = (
            await self.conn.execute(
                insert(lesson_progress)
                .values(rows)
                .on_conflict_do_nothing()
                .returning(lesson_progress.c.course_id, lesson_progress.c.lesson_id)
            )
        ).all()
        keys = {(row.course_id, row.lesson_id) for row in inserted}
        return {item.client_id for item, _ in accepted if (item.course_id, item.lesson_id) in keys}

    async def add_sync_receipts(
        self, learner_id: uuid.UUID, results: list[SyncResult], at: datetime
    ) -> None:
        if not results:
            return
        await self.conn.execute(
            insert(sync_receipts)
            .values(
                [
                    {
                        "learner_id": learner_id,
                        "client_id": r.client_id,
                        "course_id": r.course_id,
                        "lesson_id": r.lesson_id,
                        "outcome": r.outcome.value,
                        "received_at": at,
                    }
                    for r in results
                ]
            )
            .on_conflict_do_nothing()
        )
