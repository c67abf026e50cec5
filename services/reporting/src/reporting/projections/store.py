"""Load and save a batch's rows with a handful of statements on the driver connection.

A batch costs the same few statements whatever its size: learner rows are created if missing
and locked (so consumer replicas never interleave on a learner), their enrollments read, and
the changed rows and rollup deltas written back as arrays. Rollups are incremented, never
recomputed, and in key order so that concurrent batches cannot deadlock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

import lms_contracts as c

from ..store.tables import COUNTERS
from .apply import Changes, learner_ids_of
from .model import Deltas, EnrollmentRow, LearnerRow

LEARNER_COLUMNS = (
    "learner_id uuid, full_name text, village_code text, position text, registered boolean, "
    "profile_at timestamptz, last_activity_at timestamptz"
)
ENROLLMENT_COLUMNS = (
    "learner_id uuid, course_id uuid, enrollment_id uuid, course_version integer, "
    "course_title text, cohort text, village_code text, position text, "
    "enrolled_at timestamptz, withdrawn_id uuid, withdrawn_at timestamptz, lesson_ids uuid[], "
    "lessons_done integer, withdrawn boolean, pre_test_score double precision, "
    "pre_test_attempt integer, post_test_score double precision, passed boolean, "
    "completed boolean, certified boolean, last_activity_at timestamptz"
)


def _names(columns: str) -> list[str]:
    return [part.split()[0] for part in columns.split(", ")]


def _set(names: list[str], skip: int) -> str:
    return ", ".join(f"{n} = r.{n}" for n in names[skip:])


LEARNER_NAMES = _names(LEARNER_COLUMNS)
ENROLLMENT_NAMES = _names(ENROLLMENT_COLUMNS)
LOCK_LEARNERS = (
    "INSERT INTO learners (learner_id) SELECT unnest($1::uuid[]) ORDER BY 1 "
    "ON CONFLICT (learner_id) DO NOTHING"
)
SELECT_LEARNERS = (
    f"SELECT {', '.join(LEARNER_NAMES)} FROM learners WHERE learner_id = ANY($1::uuid[]) "
    "ORDER BY learner_id FOR UPDATE"
)
SELECT_ENROLLMENTS = (
    f"SELECT {', '.join(n for n in ENROLLMENT_NAMES if n not in ('lessons_done', 'withdrawn'))} "
    "FROM enrollments WHERE learner_id = ANY($1::uuid[])"
)
SAVE_LEARNERS = (
    f"UPDATE learners l SET {_set(LEARNER_NAMES, 1)} "
    f"FROM jsonb_to_recordset($1::jsonb) AS r({LEARNER_COLUMNS}) WHERE l.learner_id = r.learner_id"
)
SAVE_ENROLLMENTS = (
    f"INSERT INTO enrollments ({', '.join(ENROLLMENT_NAMES)}) "
    f"SELECT * FROM jsonb_to_recordset($1::jsonb) AS r({ENROLLMENT_COLUMNS}) "
    f"ON CONFLICT (learner_id, course_id) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in ENROLLMENT_NAMES[2:])
)
ADD_ROLLUPS = (
    f"INSERT INTO rollups (region_code, course_id, cohort, position, {', '.join(COUNTERS)}) "
    "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], "
    + ", ".join(f"${i + 5}::bigint[]" for i in range(len(COUNTERS)))
    + ") ON CONFLICT (region_code, course_id, cohort, position) DO UPDATE SET "
    + ", ".join(f"{n} = rollups.{n} + excluded.{n}" for n in COUNTERS)
)
ADD_ACTIVITY = (
    "INSERT INTO activity (region_code, course_id, cohort, position, day, learners) "
    "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::date[], "
    "$6::integer[]) ON CONFLICT (region_code, course_id, cohort, position, day) "
    "DO UPDATE SET learners = activity.learners + excluded.learners"
)
SAVE_COURSE = (
    "INSERT INTO courses (course_id, version, code, title, lessons, required_lessons) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)


async def driver_of(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def apply_events(conn: AsyncConnection, events: Sequence[c.CloudEvent[Any]]) -> None:
    """Apply a batch of (new, deduplicated) events in the caller's transaction."""
    driver = await driver_of(conn)
    learner_ids = learner_ids_of(events)
    learners: list[LearnerRow] = []
    enrollments: list[EnrollmentRow] = []
    if learner_ids:
        await driver.execute(LOCK_LEARNERS, learner_ids)
        learners = [LearnerRow(**r) for r in await driver.fetch(SELECT_LEARNERS, learner_ids)]
        enrollments = [
            EnrollmentRow(**{**r, "lesson_ids": list(r["lesson_ids"] or ())})
            for r in await driver.fetch(SELECT_ENROLLMENTS, learner_ids)
        ]
    changes = Changes(learners, enrollments).apply(events)
    deltas = changes.deltas()
    if changes.learners:
        await driver.execute(SAVE_LEARNERS, _json(_learner_rows(changes)))
    if changes.enrollments:
        await driver.execute(SAVE_ENROLLMENTS, _json(_enrollment_rows(changes)))
    await _add_rollups(driver, deltas)
    for data in changes.published:
        await driver.execute(
            SAVE_COURSE,
            data.course_id,
            data.course_version,
            data.code,
            data.title,
            len(data.lesson_ids),
            len(data.required_lesson_ids),
        )


def _learner_rows(changes: Changes) -> list[dict[str, Any]]:
    return [
        {name: getattr(row, name) for name in LEARNER_NAMES}
        for row in sorted(changes.learners.values(), key=lambda r: r.learner_id)
    ]


def _enrollment_rows(changes: Changes) -> list[dict[str, Any]]:
    rows = sorted(changes.enrollments.values(), key=lambda r: (r.learner_id, r.course_id))
    return [{name: getattr(row, name) for name in ENROLLMENT_NAMES} for row in rows]


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.isoformat()  # datetimes


async def _add_rollups(driver: Any, deltas: Deltas) -> None:
    changed = deltas.changed_rollups()
    if changed:
        keys = [key for key, _ in changed]
        columns = [[counters.get(name, 0) for _, counters in changed] for name in COUNTERS]
        await driver.execute(ADD_ROLLUPS, *zip(*keys, strict=True), *columns)
    activity = deltas.changed_activity()
    if activity:
        await driver.execute(
            ADD_ACTIVITY, *zip(*(key for key, _ in activity), strict=True), [n for _, n in activity]
        )
