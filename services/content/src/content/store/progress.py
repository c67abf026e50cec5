"""The progress side of the unit of work: enrollments learnt from events, lessons completed
online and batches synced from devices."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.database import Transaction
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.runner import Outbound
from servicekit.versions import later_move_wins

from ..domain import commands
from ..domain.events import LessonCompleted
from ..domain.model import Completion, Enrollment, OfflineCompletion, SyncResult
from .tables import (
    course_versions,
    enrollments,
    lesson_progress,
    lessons,
    pre_tests,
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
           AND p.lesson_id = CAST(:lesson_id AS uuid)) AS completed_at,
       coalesce((SELECT v.pre_test_before_lessons FROM course_versions v
                  WHERE v.course_id = CAST(:course_id AS uuid) AND v.version = e.course_version),
                false)
       AND NOT EXISTS (SELECT 1 FROM pre_tests t
                        WHERE t.learner_id = CAST(:learner_id AS uuid)
                          AND t.course_id = CAST(:course_id AS uuid)) AS pre_test_due
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


class ProgressStore:
    tx: Transaction
    conn: AsyncConnection
    # the service's translator to contract events, for the one statement that writes its own
    outbound: Outbound

    async def record_enrollment(self, enrollment: Enrollment) -> None:
        statement = insert(enrollments).values(
            enrollment_id=enrollment.enrollment_id,
            learner_id=enrollment.learner_id,
            course_id=enrollment.course_id,
            course_version=enrollment.course_version,
            village_code=enrollment.village_code,
            enrolled_at=enrollment.enrolled_at,
        )
        # the withdrawal or a move may have arrived first: keep them, fill in what they did
        # not know (a moved enrollment keeps the version it was moved to)
        moved = enrollments.c.version_move > 0
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["enrollment_id"],
                set_={
                    "course_version": case(
                        (moved, enrollments.c.course_version),
                        else_=statement.excluded.course_version,
                    ),
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

    async def record_version_change(self, cmd: commands.RecordVersionChange) -> None:
        """A later move than the last one applied wins (``later_move_wins``)."""
        await self.conn.execute(later_move_wins(enrollments, cmd))

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
            pre_test_due=bool(row.pre_test_due),
            recorded=False,
            completed_at=row.completed_at,
        )

    async def add_completion(self, event: LessonCompleted) -> bool:
        """Store an online completion and its event in one statement; False if it was
        there already or the enrollment changed meanwhile."""
        (data,) = self.outbound(event)
        _, outbox_values = self.tx.outbox.row(
            data, correlation_id=self.tx.correlation_id, causation_id=self.tx.causation_id
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

    async def record_pre_test(self, cmd: commands.RecordPreTest) -> None:
        statement = insert(pre_tests).values(
            learner_id=cmd.learner_id, course_id=cmd.course_id, taken_at=cmd.taken_at
        )
        await self.conn.execute(statement.on_conflict_do_nothing())

    async def pre_test_due(
        self, learner_id: uuid.UUID, keys: Iterable[tuple[uuid.UUID, int]]
    ) -> set[uuid.UUID]:
        """Of these (course, version) pairs, the courses whose version wants the pre-test
        before lessons and whose pre-test the learner has not taken."""
        wanted = list(keys)
        if not wanted:
            return set()
        taken = select(pre_tests.c.course_id).where(pre_tests.c.learner_id == learner_id)
        rows = await self.conn.execute(
            select(course_versions.c.course_id).where(
                tuple_(course_versions.c.course_id, course_versions.c.version).in_(wanted),
                course_versions.c.pre_test_before_lessons,
                course_versions.c.course_id.not_in(taken),
            )
        )
        return set(rows.scalars())

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
