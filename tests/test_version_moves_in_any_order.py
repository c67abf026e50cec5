"""A learner's version moves, shuffled and duplicated among their other events, leave every
consuming service in the same state as the events in order (real PostgreSQL per service).

Each example is a fresh learner of a fresh course: enrolled on version 1, three lessons,
one to three moves, a lesson only the later versions have. The events reach each service's
own inbound handlers (reporting: its projection, in batches of any size) without the inbox,
so that a duplicate tests the rules themselves, as a redelivery after a purged inbox would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.js import JetStreamContext
from sqlalchemy import select, text

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service

pytestmark = pytest.mark.integration
T0 = datetime(2027, 3, 1, 8, tzinfo=UTC)
TOWUA = "74.01.01.2006"
CONSUMERS = ("content", "assessment", "notification", "reporting")
QUIET = {
    "content": {},
    "assessment": {"run_expiry_sweeper": False},
    "notification": {"run_scheduler": False, "run_delivery_worker": False},
    "reporting": {},
}


@pytest.fixture
def databases(make_database: Any) -> dict[str, str]:
    return {name: make_database(name) for name in CONSUMERS}


@pytest.fixture
async def services(
    databases: dict[str, str], nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[dict[str, RunningService]]:
    """The four consumers of a move, each on its own database, consuming nothing by itself."""
    started: dict[str, RunningService] = {}
    contexts = []
    try:
        for name in CONSUMERS:
            context = running_service(
                name,
                databases[name],
                nats_url,
                run_consumers=False,
                run_relay=False,
                **QUIET[name],
            )
            started[name] = await context.__aenter__()
            contexts.append(context)
        yield started
    finally:
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)


@dataclass(frozen=True)
class Story:
    learner_id: uuid.UUID
    course_id: uuid.UUID
    enrollment_id: uuid.UUID
    versions: tuple[int, ...]  # the versions moved to, in order
    events: tuple[c.CloudEvent[Any], ...]

    @property
    def final_version(self) -> int:
        return self.versions[-1]

    @property
    def last_move(self) -> c.CloudEvent[Any]:
        return [e for e in self.events if isinstance(e.data, c.CourseVersionChanged)][-1]


def story(moves: Sequence[int]) -> Story:
    """Enrolled on version 1, three lessons, then the moves (each to another version), then
    the lesson 'Perubahan Permendagri 2027' of the version the learner ends on."""
    learner_id, course_id, enrollment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    lessons = [uuid.uuid4() for _ in range(4)]
    learner = {"learner_id": learner_id, "course_id": course_id, "village_code": TOWUA}
    data: list[c.EventData] = [
        c.CoursePublished(
            course_id=course_id,
            course_version=version,
            code="ADM-01",
            title="Administrasi Desa",
            lesson_ids=lessons[: 3 + (version > 1)],
            required_lesson_ids=lessons[: 3 + (version > 1)],
            published_at=T0,
        )
        for version in (1, 2, 3)
    ]
    data.append(
        c.Enrolled(
            **learner,
            enrollment_id=enrollment_id,
            course_version=1,
            course_title="Administrasi Desa",
            position=c.Position.KEPALA_DESA,
            enrolled_at=T0,
        )
    )
    data += [lesson(learner, lessons[i], 1, T0 + timedelta(hours=i + 1)) for i in range(3)]
    versions, previous = [], 1
    for number, version in enumerate(moves, start=1):
        data.append(
            c.CourseVersionChanged(
                **learner,
                enrollment_id=enrollment_id,
                course_title="Administrasi Desa",
                from_version=previous,
                course_version=version,
                move_number=number,
                changed_at=T0 + timedelta(days=number),
            )
        )
        versions.append(version)
        previous = version
    data.append(lesson(learner, lessons[3], previous, T0 + timedelta(days=9)))
    events = tuple(c.new_event(d) for d in data)
    return Story(learner_id, course_id, enrollment_id, tuple(versions), events)


def lesson(learner: dict[str, Any], lesson_id: uuid.UUID, version: int, at: datetime) -> Any:
    return c.LessonCompleted(
        **learner,
        course_version=version,
        lesson_id=lesson_id,
        completed_at=at,
        recorded_at=at,
    )


async def deliver(
    services: dict[str, RunningService], events: Sequence[c.CloudEvent[Any]], batch: int
) -> None:
    """Each event to each service that consumes it, one transaction per event (reporting: per
    batch, duplicates within a batch dropped as its consumer drops them)."""
    for name in ("content", "assessment", "notification"):
        runtime = services[name].runtime
        subscription = runtime.definition.subscription(runtime.runner)
        assert subscription is not None
        for event in events:
            handle = subscription.handler_for(event)
            if handle is None:
                continue
            async with runtime.database.transaction() as tx:
                await handle(tx, event)
    reporting = services["reporting"].runtime
    projection = reporting.definition.subscription(reporting.runner)
    assert projection is not None and projection.batch_handler is not None
    for start in range(0, len(events), batch):
        chunk = list({e.id: e for e in events[start : start + batch]}.values())
        async with reporting.database.transaction() as tx:
            await projection.batch_handler(tx, chunk)


async def state_of(services: dict[str, RunningService], told: Story) -> dict[str, Any]:
    """What each service holds of the story's learner."""
    ids = {"e": told.enrollment_id, "l": told.learner_id, "c": told.course_id}
    content = services["content"].runtime.database
    async with content.read() as conn:
        content_row = (
            await conn.execute(
                text(
                    "SELECT course_version, version_move FROM enrollments WHERE enrollment_id = :e"
                ),
                ids,
            )
        ).one()
        done = (
            await conn.execute(
                text("SELECT count(*) FROM lesson_progress WHERE learner_id = :l"), ids
            )
        ).scalar_one()
    from assessment.store import queries as assessment_queries

    async with services["assessment"].runtime.database.read() as conn:
        enrolled = await assessment_queries.active_enrollment(conn, told.learner_id, told.course_id)
        assert enrolled is not None
        course = await assessment_queries.course_version(
            conn, told.course_id, enrolled.course_version
        )
        assert course is not None
        missing = len(course.required_lesson_ids - enrolled.completed_lesson_ids)
    from notification.store.tables import messages, version_moves

    async with services["notification"].runtime.database.read() as conn:
        told_move = (
            await conn.execute(
                select(version_moves.c.move_number).where(
                    version_moves.c.enrollment_id == told.enrollment_id
                )
            )
        ).scalar_one()
        last_told = (
            await conn.execute(
                select(messages.c.title).where(messages.c.event_id == told.last_move.id)
            )
        ).scalar_one()
    async with services["reporting"].runtime.database.read() as conn:
        reported = (
            await conn.execute(
                text(
                    "SELECT course_version, version_move, lessons_done, enrollment_id "
                    "FROM enrollments WHERE learner_id = :l AND course_id = :c"
                ),
                ids,
            )
        ).one()
        enrolled_count = (
            await conn.execute(
                text("SELECT sum(enrolled) FROM rollups WHERE region_code = '' AND course_id = :c"),
                ids,
            )
        ).scalar_one()
    return {
        "content": (content_row.course_version, content_row.version_move, done),
        "assessment": (enrolled.course_version, len(enrolled.completed_lesson_ids), missing),
        "notification": (told_move, last_told),
        "reporting": (*reported, enrolled_count),
    }


def expected(told: Story) -> dict[str, Any]:
    final, moves = told.final_version, len(told.versions)
    return {
        "content": (final, moves, 0),  # content records lessons itself; none were sent to it
        "assessment": (final, 4, 0),
        "notification": (moves, f"Kursus Administrasi Desa kini versi {final}"),
        "reporting": (final, moves, 4, told.enrollment_id, 1),
    }


moves = st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=3).filter(
    lambda vs: all(a != b for a, b in zip([1, *vs], vs, strict=False))
)


@settings(
    max_examples=12,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=moves, data=st.data(), batch=st.sampled_from([1, 3, 50]))
async def test_moves_shuffled_and_duplicated_leave_every_service_in_the_same_state(
    services: dict[str, RunningService], moves: list[int], data: st.DataObject, batch: int
) -> None:
    told = story(moves)
    duplicated = data.draw(st.lists(st.sampled_from(told.events), max_size=6), label="again")
    shuffled = data.draw(st.permutations([*told.events, *duplicated]), label="order")
    await deliver(services, shuffled, batch)
    assert await state_of(services, told) == expected(told)
