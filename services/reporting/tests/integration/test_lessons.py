"""Lesson completions applied set-based on real PostgreSQL: the same rows and buckets whatever
the order, batching, duplication or UTC offset of the events."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import lms_contracts as c
import reporting.main as reporting
from reporting.domain.model import ACTIVITY_PREFIXES, NO_COURSE, day_of
from reporting.events.inbound import project_events
from reporting.store import tables
from reporting.store.projection import SqlProjectionStore
from servicekit.database import make_engine
from servicekit.migrations import upgrade

pytestmark = pytest.mark.integration
WIB, WIT = timezone(timedelta(hours=7)), timezone(timedelta(hours=9))
# 23:30 UTC: already the next day in Jakarta and Jayapura, where learners sync from.
T0 = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
COURSE = uuid.uuid4()
VILLAGES = ["74.01.01.2006", "74.01.01.2007", "74.02.01.2006", "94.71.01.1001"]
PROJECTIONS = ("learners", "enrollments", "rollups", "activity", "courses")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, reporting.MIGRATIONS, database_url)
    engine = make_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


def learner_events(index: int, lessons: list[uuid.UUID]) -> list[c.CloudEvent[Any]]:
    """A learner who registers, enrolls and completes lessons over a few days, syncing some of
    them late and from other time zones; every second learner withdraws, every third never
    enrolls (their lessons arrive anyway)."""
    learner, village = uuid.uuid4(), VILLAGES[index % len(VILLAGES)]
    common = {"learner_id": learner, "course_id": COURSE, "village_code": village}
    enrollment = uuid.uuid4()
    data: list[c.EventData] = [
        c.LearnerRegistered(
            learner_id=learner,
            full_name=f"Aparatur {index}",
            position="kaur_keuangan" if index % 2 else "kepala_desa",
            village_code=village,
            registered_at=T0 - timedelta(days=3),
        )
    ]
    if index % 3:
        data.append(
            c.Enrolled(
                **common,
                enrollment_id=enrollment,
                course_version=2,
                course_title="Keuangan Desa",
                position="kepala_desa",
                cohort="Angkatan 1",
                enrolled_at=T0 - timedelta(days=2),
            )
        )
    if index % 2 and index % 3:
        data.append(
            c.Withdrawn(
                **common,
                enrollment_id=enrollment,
                course_title="Keuangan Desa",
                withdrawn_at=T0 - timedelta(days=1),
            )
        )
    zones = (UTC, WIB, WIT)
    for n, lesson in enumerate(lessons[: 2 + index % len(lessons)]):
        at = (T0 + timedelta(hours=n * 5 - index % 4)).astimezone(zones[(index + n) % 3])
        data.append(
            c.LessonCompleted(
                **common,
                course_version=2,
                lesson_id=lesson,
                completed_at=at,
                recorded_at=at + timedelta(days=index % 2),
            )
        )
    return [c.new_event(d) for d in data]


async def project(engine: AsyncEngine, events: list[c.CloudEvent[Any]], batch: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(PROJECTIONS)}"))
    for start in range(0, len(events), batch):
        async with engine.begin() as conn:
            await project_events(
                conn, list({e.id: e for e in events[start : start + batch]}.values())
            )


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        learners = (await conn.execute(text("SELECT * FROM learners ORDER BY 1"))).mappings()
        enrollments = (
            await conn.execute(text("SELECT * FROM enrollments ORDER BY 1, 2"))
        ).mappings()
        rollups = (await conn.execute(text("SELECT * FROM rollups ORDER BY 1, 2, 3, 4"))).mappings()
        activity = await conn.execute(
            text("SELECT * FROM activity WHERE learners <> 0 ORDER BY 1, 2, 3, 4, 5")
        )
        return {
            "learners": [dict(r) for r in learners],
            "enrollments": [
                {**r, "lesson_ids": sorted(r["lesson_ids"])} for r in map(dict, enrollments)
            ],
            "rollups": [dict(r) for r in rollups if any(r[name] for name in tables.COUNTERS)],
            "activity": [tuple(r) for r in activity],
        }


def buckets_from_rows(state: dict[str, Any]) -> dict[tuple[Any, ...], int]:
    """The activity buckets recounted from the rows: one per counted row, on its UTC day."""
    expected: dict[tuple[Any, ...], int] = {}
    rows = [
        (r["village_code"], NO_COURSE, "", r["position"] or "", r["last_activity_at"])
        for r in state["learners"]
        if r["registered"] and r["village_code"]
    ] + [
        (r["village_code"], r["course_id"], r["cohort"], r["position"] or "", r["last_activity_at"])
        for r in state["enrollments"]
        if r["enrollment_id"] and r["village_code"] and not r["withdrawn"]
    ]
    for village, course, cohort, position, at in rows:
        if at is None:
            continue
        for length in ACTIVITY_PREFIXES:
            key = (village[:length], course, cohort, position, day_of(at))
            expected[key] = expected.get(key, 0) + 1
    return expected


async def test_lessons_count_once_and_buckets_follow_the_utc_day_whatever_the_order(
    engine: AsyncEngine,
) -> None:
    lessons = [uuid.uuid4() for _ in range(5)]
    events = [e for i in range(12) for e in learner_events(i, lessons)]
    await project(engine, events, len(events))
    expected = await snapshot(engine)

    by_learner: dict[uuid.UUID, set[uuid.UUID]] = {}
    last: dict[uuid.UUID, datetime] = {}
    for event in events:
        if isinstance(event.data, c.LessonCompleted):
            by_learner.setdefault(event.data.learner_id, set()).add(event.data.lesson_id)
            last[event.data.learner_id] = max(
                last.get(event.data.learner_id, event.data.completed_at), event.data.completed_at
            )
    assert {r["learner_id"]: set(r["lesson_ids"]) for r in expected["enrollments"]} == by_learner
    assert all(r["lessons_done"] == len(r["lesson_ids"]) for r in expected["enrollments"])
    assert {r["learner_id"]: r["last_activity_at"] for r in expected["learners"]} == last
    assert all(r["course_version"] == 2 for r in expected["enrollments"])
    buckets = {row[:5]: row[5] for row in expected["activity"]}
    assert buckets == buckets_from_rows(expected)
    # Activity days are UTC days: lessons at 23:30 UTC synced from WIB count on the UTC day.
    assert {key[4] for key in buckets} <= {T0.date(), (T0 + timedelta(days=1)).date()}

    for seed, batch in [(1, 1), (2, 3), (3, 7), (4, 40)]:
        shuffled = random.Random(seed).sample(events * 2, 2 * len(events))  # every event twice
        await project(engine, shuffled, batch)
        assert await snapshot(engine) == expected, (seed, batch)


async def test_a_lesson_before_registration_and_enrollment_is_counted_once_they_arrive(
    engine: AsyncEngine,
) -> None:
    lessons = [uuid.uuid4() for _ in range(3)]
    events = learner_events(4, lessons)  # registers, enrolls, completes lessons
    lesson_events = [e for e in events if isinstance(e.data, c.LessonCompleted)]
    others = [e for e in events if e not in lesson_events]
    await project(engine, lesson_events, len(lesson_events))
    state = await snapshot(engine)
    assert state["activity"] == [] and state["rollups"] == []
    assert state["enrollments"][0]["lessons_done"] == len(lesson_events)
    async with engine.begin() as conn:
        await project_events(conn, others)
    state = await snapshot(engine)
    buckets = {row[:5]: row[5] for row in state["activity"]}
    assert buckets == buckets_from_rows(state)
    national = {key[1]: n for key, n in buckets.items() if key[0] == ""}
    assert national == {NO_COURSE: 1, COURSE: 1}


async def test_buckets_left_empty_are_dropped_and_counting_carries_on(engine: AsyncEngine) -> None:
    lessons = [uuid.uuid4() for _ in range(5)]
    events = [e for i in range(8) for e in learner_events(i, lessons)]
    await project(engine, events, 1)  # one by one: every later lesson empties a day's bucket
    before = await snapshot(engine)

    async with engine.connect() as conn:
        empty = await conn.execute(text("SELECT count(*) FROM activity WHERE learners = 0"))
        empty_rows = empty.scalar_one()
    assert empty_rows > 0
    async with engine.begin() as conn:
        assert await (await SqlProjectionStore.open(conn)).drop_empty_buckets() == empty_rows
    async with engine.connect() as conn:
        left = await conn.execute(text("SELECT count(*) FROM activity WHERE learners = 0"))
        assert left.scalar_one() == 0
    assert await snapshot(engine) == before  # nothing that counts went

    later = [
        c.new_event(
            e.data.model_copy(
                update={"lesson_id": uuid.uuid4(), "completed_at": T0 + timedelta(days=3)}
            )
        )
        for e in events
        if isinstance(e.data, c.LessonCompleted)
    ]
    for event in later:  # buckets emptied and dropped above are recreated as needed
        async with engine.begin() as conn:
            await project_events(conn, [event])
    after = await snapshot(engine)
    assert {row[:5]: row[5] for row in after["activity"]} == buckets_from_rows(after)
