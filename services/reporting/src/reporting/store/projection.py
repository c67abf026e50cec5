"""Load and save a batch's rows with a handful of statements on the driver connection.

A batch costs the same few statements whatever its size. The learner rows of every event are
created if missing and locked in id order (so consumer replicas never interleave on a
learner), and take their lessons' latest activity in the same statement; the rows the
non-lesson events change are read, changed in memory and written back as arrays with the
rollup deltas; the lesson completions reach their enrollments by one more statement (both in
``lessons.py``). Rollups are incremented, never recomputed, and in key order (sorted by the
database) so that concurrent batches cannot deadlock. Rows are looked up by joining the id
array (``IN (SELECT unnest(...))``): a prepared ``= ANY($1)`` falls back to a generic plan
that compares every row of the table with every id of the batch, a cost that grows with the
table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

import lms_contracts as c
from servicekit.database import driver_connection

from ..domain.model import COUNTERS, Contact, CourseVersion, EnrollmentRow, LearnerRow
from ..domain.rollups import Deltas
from .lessons import apply_lessons, lock_learners

LEARNER_COLUMNS = (
    "learner_id uuid, full_name text, village_code text, position text, registered boolean, "
    "profile_at timestamptz, last_activity_at timestamptz"
)
ENROLLMENT_COLUMNS = (
    "learner_id uuid, course_id uuid, enrollment_id uuid, course_version integer, "
    "course_title text, cohort text, village_code text, position text, "
    "enrolled_at timestamptz, withdrawn_id uuid, withdrawn_at timestamptz, withdrawn boolean, "
    "pre_test_score double precision, pre_test_attempt integer, post_test_score double precision, "
    "passed boolean, completed boolean, certified boolean, revoked boolean, "
    "last_activity_at timestamptz, "
    "moved_id uuid, version_move integer, moved_version integer, certificate_code text"
)


def _columns(columns: str) -> list[tuple[str, str]]:
    return [(name, kind) for name, kind in (part.split(maxsplit=1) for part in columns.split(", "))]


def _unnest(columns: list[tuple[str, str]]) -> str:
    """Rows passed as one array per column."""
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, 1))
    return f"unnest({arrays}) AS r({', '.join(name for name, _ in columns)})"


LEARNER_TYPES = _columns(LEARNER_COLUMNS)
ENROLLMENT_TYPES = _columns(ENROLLMENT_COLUMNS)
LEARNER_NAMES = [name for name, _ in LEARNER_TYPES]
ENROLLMENT_NAMES = [name for name, _ in ENROLLMENT_TYPES]
SELECT_LEARNERS = (
    f"SELECT {', '.join(LEARNER_NAMES)} FROM learners "
    "WHERE learner_id IN (SELECT unnest($1::uuid[]))"
)
SELECT_ENROLLMENTS = (
    f"SELECT {', '.join(n for n in ENROLLMENT_NAMES if n != 'withdrawn')} "
    "FROM enrollments WHERE learner_id IN (SELECT unnest($1::uuid[]))"
)
SAVE_LEARNERS = (
    "UPDATE learners l SET "
    + ", ".join(f"{n} = r.{n}" for n in LEARNER_NAMES[1:])
    + f" FROM {_unnest(LEARNER_TYPES)} WHERE l.learner_id = r.learner_id"
)
SAVE_ENROLLMENTS = (
    f"INSERT INTO enrollments ({', '.join(ENROLLMENT_NAMES)}) "
    f"SELECT * FROM {_unnest(ENROLLMENT_TYPES)} "
    "ON CONFLICT (learner_id, course_id) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in ENROLLMENT_NAMES[2:])
)
ADD_ROLLUPS = (
    f"INSERT INTO rollups (region_code, course_id, cohort, position, {', '.join(COUNTERS)}) "
    "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], "
    + ", ".join(f"${i + 5}::bigint[]" for i in range(len(COUNTERS)))
    + ") ORDER BY 1, 2, 3, 4 ON CONFLICT (region_code, course_id, cohort, position) DO UPDATE SET "
    + ", ".join(f"{n} = rollups.{n} + excluded.{n}" for n in COUNTERS)
)
ADD_ACTIVITY = (
    "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
    "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::date[], "
    "$6::integer[]) ORDER BY 1, 2, 3, 4, 5 "
    "ON CONFLICT (region_code, course_id, cohort, position, day) "
    "DO UPDATE SET learners = activity.learners + excluded.learners"
)
# A bucket whose learners all moved on to later days counts nothing; left in place, such rows
# would pile up day after day. Rows a batch holds are skipped, never waited for.
DROP_EMPTY_BUCKETS = (
    "DELETE FROM activity WHERE ctid IN "
    "(SELECT ctid FROM activity WHERE learners = 0 FOR UPDATE SKIP LOCKED)"
)
SAVE_COURSE = (
    "INSERT INTO courses (course_id, version, code, title, lessons, required_lessons, lesson_ids) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
)

# The newest contact by its own time wins, whatever order the events came in.
SAVE_CONTACT = (
    "INSERT INTO contacts (learner_id, phone, email, changed_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (learner_id) DO UPDATE SET phone = excluded.phone, email = excluded.email, "
    "changed_at = excluded.changed_at WHERE contacts.changed_at <= excluded.changed_at"
)


# Enrollment's reads of contacts: a row per learner shown, keyed by the event.
LOG_CONTACT_VIEWS = (
    "INSERT INTO contact_reads "
    "(event_id, read_at, viewer, viewer_role, viewer_region, learner_id, route) "
    "SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], "
    "$6::uuid[], $7::text[]) ON CONFLICT (event_id, learner_id) DO NOTHING"
)


def _column_lists(rows: Sequence[LearnerRow | EnrollmentRow], names: list[str]) -> list[list[Any]]:
    """One list per column, as ``_unnest`` takes them."""
    return [[getattr(row, name) for row in rows] for name in names]


class SqlProjectionStore:
    """The projection's rows on the driver connection of the caller's transaction."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @classmethod
    async def open(cls, conn: AsyncConnection) -> SqlProjectionStore:
        return cls(await driver_connection(conn))

    async def lock_learners(
        self, lessons: Sequence[c.LessonCompleted], learner_ids: Sequence[uuid.UUID]
    ) -> None:
        await lock_learners(self.driver, lessons, learner_ids)

    async def load(
        self, learner_ids: Sequence[uuid.UUID]
    ) -> tuple[list[LearnerRow], list[EnrollmentRow]]:
        """The learners' rows and all their enrollments."""
        learners = [LearnerRow(**r) for r in await self.driver.fetch(SELECT_LEARNERS, learner_ids)]
        enrollments = [
            EnrollmentRow(**r) for r in await self.driver.fetch(SELECT_ENROLLMENTS, learner_ids)
        ]
        return learners, enrollments

    async def save_learners(self, rows: Sequence[LearnerRow]) -> None:
        if rows:
            await self.driver.execute(SAVE_LEARNERS, *_column_lists(rows, LEARNER_NAMES))

    async def save_enrollments(self, rows: Sequence[EnrollmentRow]) -> None:
        if rows:
            await self.driver.execute(SAVE_ENROLLMENTS, *_column_lists(rows, ENROLLMENT_NAMES))

    async def add_rollups(self, deltas: Deltas) -> None:
        changed = deltas.changed_rollups()
        if changed:
            keys = [key for key, _ in changed]
            columns = [
                list(column) for column in zip(*(counters for _, counters in changed), strict=True)
            ]
            await self.driver.execute(ADD_ROLLUPS, *zip(*keys, strict=True), *columns)
        activity = deltas.changed_activity()
        if activity:
            await self.driver.execute(
                ADD_ACTIVITY,
                *zip(*(key for key, _ in activity), strict=True),
                [n for _, n in activity],
            )

    async def save_courses(self, courses: Sequence[CourseVersion]) -> None:
        for course in courses:
            await self.driver.execute(SAVE_COURSE, *course)

    async def save_contacts(self, contacts: Sequence[Contact]) -> None:
        for contact in contacts:
            await self.driver.execute(SAVE_CONTACT, *contact)

    async def apply_lessons(self, lessons: Sequence[c.LessonCompleted]) -> None:
        await apply_lessons(self.driver, lessons)

    async def log_contact_views(
        self, views: Sequence[c.CloudEvent[c.LearnerContactsViewed]]
    ) -> None:
        rows = [
            (
                event.id,
                read.viewed_at,
                read.viewer,
                read.viewer_role,
                read.viewer_region,
                learner_id,
                read.route,
            )
            for event in views
            for read in [event.data]
            for learner_id in read.learner_ids
        ]
        await self.driver.execute(
            LOG_CONTACT_VIEWS, *(list(column) for column in zip(*rows, strict=True))
        )

    async def drop_empty_buckets(self) -> int:
        """Delete the activity buckets that count nobody; returns how many went."""
        status: str = await self.driver.execute(DROP_EMPTY_BUCKETS)
        return int(status.split()[-1])
