"""Apply a batch of events to the read models in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import Table, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

import lms_contracts as c

from ..store.tables import COUNTERS, courses, enrollments, learners, lessons_done, rollups
from .model import Counters, EnrollmentRow, Key, LearnerRow, add, later

ENROLLMENT_EVENTS = (
    c.Enrolled,
    c.Withdrawn,
    c.LessonCompleted,
    c.Passed,
    c.Failed,
    c.CourseCompleted,
    c.CertificateIssued,
)
LEARNER_EVENTS = (c.LearnerRegistered, c.LearnerUpdated)
_LEARNER_FIELDS = [f.name for f in fields(LearnerRow)]
_ENROLLMENT_FIELDS = [f.name for f in fields(EnrollmentRow) if f.name != "extra"]


class Batch:
    def __init__(self, conn: AsyncConnection, events: Sequence[c.CloudEvent[Any]]) -> None:
        self.conn = conn
        self.events = events
        self.learners: dict[uuid.UUID, LearnerRow] = {}
        self.enrollments: dict[tuple[uuid.UUID, uuid.UUID], EnrollmentRow] = {}
        self.before: list[tuple[Key, Counters] | None] = []

    async def load(self) -> None:
        learner_ids = sorted(
            {e.data.learner_id for e in self.events if hasattr(e.data, "learner_id")}
        )
        moved = sorted(
            {e.data.learner_id for e in self.events if isinstance(e.data, c.LearnerUpdated)}
        )
        pairs = sorted(
            {
                (e.data.learner_id, e.data.course_id)
                for e in self.events
                if isinstance(e.data, ENROLLMENT_EVENTS)
            }
        )
        if learner_ids:
            rows = await self.conn.execute(
                select(learners)
                .where(learners.c.learner_id.in_(learner_ids))
                .order_by(learners.c.learner_id)
                .with_for_update()
            )
            for row in rows:
                self.learners[row.learner_id] = LearnerRow(
                    **{k: getattr(row, k) for k in _LEARNER_FIELDS}
                )
        conditions = []
        if pairs:
            conditions.append(tuple_(enrollments.c.learner_id, enrollments.c.course_id).in_(pairs))
        if moved:
            conditions.append(enrollments.c.learner_id.in_(moved))
        if conditions:
            rows = await self.conn.execute(
                select(enrollments)
                .where(or_(*conditions))
                .order_by(enrollments.c.learner_id, enrollments.c.course_id)
                .with_for_update()
            )
            for row in rows:
                self.enrollments[(row.learner_id, row.course_id)] = EnrollmentRow(
                    **{k: getattr(row, k) for k in _ENROLLMENT_FIELDS}
                )
        self.before = [r.contribution() for r in self.rows()]

    def rows(self) -> list[LearnerRow | EnrollmentRow]:
        return [*self.learners.values(), *self.enrollments.values()]

    def learner(self, learner_id: uuid.UUID) -> LearnerRow:
        return self.learners.setdefault(learner_id, LearnerRow(learner_id))

    def enrollment(self, learner_id: uuid.UUID, course_id: uuid.UUID) -> EnrollmentRow:
        return self.enrollments.setdefault(
            (learner_id, course_id), EnrollmentRow(learner_id, course_id)
        )

    async def new_lessons(self) -> set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
        facts = sorted(
            {
                (e.data.learner_id, e.data.course_id, e.data.lesson_id)
                for e in self.events
                if isinstance(e.data, c.LessonCompleted)
            }
        )
        if not facts:
            return set()
        result = await self.conn.execute(
            insert(lessons_done)
            .values(
                [{"learner_id": a, "course_id": b, "lesson_id": lesson} for a, b, lesson in facts]
            )
            .on_conflict_do_nothing()
            .returning(
                lessons_done.c.learner_id, lessons_done.c.course_id, lessons_done.c.lesson_id
            )
        )
        return {tuple(row) for row in result}

    async def apply(self) -> None:
        await self.load()
        fresh_lessons = await self.new_lessons()
        published = []
        for event in self.events:
            data = event.data
            if isinstance(data, c.CoursePublished):
                published.append(data)
            elif isinstance(data, LEARNER_EVENTS):
                self.on_learner(data)
            elif isinstance(data, ENROLLMENT_EVENTS):
                self.on_enrollment(data, fresh_lessons)
        await self.save(published)

    def on_learner(self, data: c.LearnerRegistered | c.LearnerUpdated) -> None:
        learner = self.learner(data.learner_id)
        learner.registered = True
        learner.full_name = data.full_name
        learner.village_code = data.village_code
        learner.position = data.position.value
        for (learner_id, _), enrollment in self.enrollments.items():
            if learner_id == data.learner_id and enrollment.enrolled:
                enrollment.village_code = data.village_code
                enrollment.position = data.position.value

    def on_enrollment(self, data: Any, fresh_lessons: set[Any]) -> None:
        row = self.enrollment(data.learner_id, data.course_id)
        learner = self.learner(data.learner_id)
        when = None
        if isinstance(data, c.Enrolled):
            if row.enrollment_id != data.enrollment_id:
                row.withdrawn = False
            row.enrolled = True
            row.enrollment_id = data.enrollment_id
            row.course_version, row.course_title = data.course_version, data.course_title
            row.cohort = data.cohort or ""
            row.village_code = learner.village_code or data.village_code
            row.position = learner.position or data.position.value
            row.enrolled_at = when = data.enrolled_at
        elif isinstance(data, c.Withdrawn):
            if row.enrollment_id in (None, data.enrollment_id):
                row.withdrawn = True
        elif isinstance(data, c.LessonCompleted):
            key = (data.learner_id, data.course_id, data.lesson_id)
            if key in fresh_lessons:
                row.lessons_done += 1
                fresh_lessons.discard(key)
            when = data.completed_at
        elif isinstance(data, c.Passed | c.Failed):
            when = data.graded_at
            if data.assessment_kind == c.AssessmentKind.PRE_TEST:
                if row.pre_test_attempt is None or data.attempt_number < row.pre_test_attempt:
                    row.pre_test_score, row.pre_test_attempt = data.score, data.attempt_number
            elif data.assessment_kind == c.AssessmentKind.POST_TEST:
                row.post_test_score = max(data.score, row.post_test_score or 0.0)
                row.passed = row.passed or isinstance(data, c.Passed)
        elif isinstance(data, c.CourseCompleted):
            row.completed = True
            when = data.completed_at
        elif isinstance(data, c.CertificateIssued):
            row.certified = True
        row.last_activity_at = later(row.last_activity_at, when)
        learner.last_activity_at = later(learner.last_activity_at, when)

    async def save(self, published: list[c.CoursePublished]) -> None:
        deltas: dict[Key, Counters] = {}
        for contribution in self.before:
            add(deltas, contribution, -1)
        for row in self.rows():
            add(deltas, row.contribution(), +1)
        learner_rows = [
            asdict(r) for r in sorted(self.learners.values(), key=lambda r: r.learner_id)
        ]
        await upsert(
            self.conn,
            learners,
            learner_rows,
            ["learner_id"],
            lambda excluded: {k: excluded[k] for k in _LEARNER_FIELDS[1:]},
        )
        enrollment_rows = [
            {k: v for k, v in asdict(r).items() if k != "extra"}
            for r in sorted(self.enrollments.values(), key=lambda r: (r.learner_id, r.course_id))
        ]
        await upsert(
            self.conn,
            enrollments,
            enrollment_rows,
            ["learner_id", "course_id"],
            lambda excluded: {k: excluded[k] for k in _ENROLLMENT_FIELDS[2:]},
        )
        rollup_rows = [
            {"region_code": k[0], "course_id": k[1], "cohort": k[2], "position": k[3]}
            | {name: counters.get(name, 0) for name in COUNTERS}
            for k, counters in sorted(deltas.items())
            if any(value for value in counters.values())
        ]
        await upsert(
            self.conn,
            rollups,
            rollup_rows,
            ["region_code", "course_id", "cohort", "position"],
            lambda excluded: {name: rollups.c[name] + excluded[name] for name in COUNTERS},
        )
        for data in published:
            await self.conn.execute(
                insert(courses)
                .values(
                    course_id=data.course_id,
                    version=data.course_version,
                    code=data.code,
                    title=data.title,
                    lessons=len(data.lesson_ids),
                    required_lessons=len(data.required_lesson_ids),
                )
                .on_conflict_do_nothing()
            )


async def upsert(
    conn: AsyncConnection,
    table: Table,
    rows: list[dict[str, Any]],
    index: list[str],
    updates: Callable[[Any], dict[str, Any]],
    chunk: int = 1000,
) -> None:
    """Insert or update rows in sorted chunks (bounded statement size, stable lock order)."""
    for start in range(0, len(rows), chunk):
        statement = insert(table).values(rows[start : start + chunk])
        await conn.execute(
            statement.on_conflict_do_update(index_elements=index, set_=updates(statement.excluded))
        )


async def apply_events(conn: AsyncConnection, events: Sequence[c.CloudEvent[Any]]) -> None:
    await Batch(conn, events).apply()
