"""The runner against a real PostgreSQL: a command goes to its use case, the events the use case
published reach the outbox exactly once in the same transaction, a repeated request under an
Idempotency-Key gets the first answer, and what nobody handles is refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select

from lms_contracts import CoursePublished, EventData
from servicekit.database import Database, make_engine
from servicekit.idempotency import IdempotencyStore
from servicekit.outbox import Outbox
from servicekit.problems import Problem
from servicekit.runner import Idempotency, Runner, UnitOfWork, UnknownCommand
from servicekit.tables import plumbing_tables

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, _, idempotency_table = plumbing_tables(metadata)
courses = Table(
    "courses",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("code", Text, nullable=False),
)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PublishCourse:
    code: str
    lessons: int = 0


@dataclass(frozen=True)
class RenameCourse:
    code: str


@dataclass(frozen=True)
class RecordShown:
    """What an answer showed, to be recorded wherever it is shown."""

    code: str


@dataclass(frozen=True)
class Unhandled:
    pass


@dataclass(frozen=True)
class CourseReady:
    """A domain event: what the use case says happened."""

    code: str


class Refused(Exception):
    pass


class Courses(UnitOfWork):
    async def add(self, code: str) -> int:
        inserted = await self.conn.execute(courses.insert().values(code=code))
        return int(inserted.inserted_primary_key[0])


async def publish_course(cmd: PublishCourse, uow: Courses) -> int:
    number = await uow.add(cmd.code)
    uow.publish(CourseReady(cmd.code))
    uow.publish(CourseReady(f"{cmd.code}-copy"))
    if cmd.lessons < 0:
        raise Refused("a course has no negative lessons")
    return number


async def rename_course(cmd: RenameCourse, uow: Courses) -> str:
    return cmd.code.lower()


async def record_shown(cmd: RecordShown, uow: Courses) -> None:
    uow.publish(CourseReady(cmd.code))


@dataclass
class Outbound:
    """Domain event -> contract event, counting how often it is asked."""

    calls: int = 0

    def __call__(self, event: CourseReady) -> Iterable[EventData]:
        self.calls += 1
        yield CoursePublished(
            course_id=uuid.uuid5(uuid.NAMESPACE_URL, event.code),
            course_version=1,
            code=event.code,
            title="Keuangan Desa",
            lesson_ids=[],
            required_lesson_ids=[],
            published_at=NOW,
        )


@dataclass
class Harness:
    database: Database
    runner: Runner[Courses]
    outbound: Outbound

    async def count(self, table: Table) -> int:
        async with self.database.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

    async def published_codes(self) -> list[str]:
        async with self.database.read() as conn:
            payloads = (await conn.execute(select(outbox_table.c.payload))).scalars()
            return sorted(json.loads(p)["data"]["code"] for p in payloads)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    database = Database(engine, Outbox(outbox_table))
    outbound = Outbound()
    runner: Runner[Courses] = Runner(
        database,
        IdempotencyStore(idempotency_table),
        Courses,
        {PublishCourse: publish_course, RenameCourse: rename_course, RecordShown: record_shown},
        outbound,
    )
    yield Harness(database, runner, outbound)
    await engine.dispose()


def course_view(number: int, uow: Courses) -> dict[str, Any]:
    return {"course": number}


async def test_a_command_goes_to_the_use_case_registered_for_its_type(harness: Harness) -> None:
    assert await harness.runner.execute(RenameCourse("KEU-01")) == "keu-01"
    assert await harness.runner.execute(PublishCourse("KEU-01")) == 1
    assert await harness.count(courses) == 1


async def test_the_events_a_use_case_published_reach_the_outbox_once_with_its_changes(
    harness: Harness,
) -> None:
    await harness.runner.execute(PublishCourse("KEU-01"))
    async with harness.database.transaction() as tx:
        await harness.runner.apply(tx, PublishCourse("PEL-01"), RenameCourse("x"))
    assert await harness.published_codes() == ["KEU-01", "KEU-01-copy", "PEL-01", "PEL-01-copy"]
    assert harness.outbound.calls == 4, "each domain event translated once"


async def test_a_refused_use_case_leaves_neither_its_changes_nor_its_events(
    harness: Harness,
) -> None:
    with pytest.raises(Refused):
        await harness.runner.execute(PublishCourse("KEU-01", lessons=-1))
    assert await harness.count(courses) == 0
    assert await harness.count(outbox_table) == 0


async def test_a_repeated_request_under_the_same_key_gets_the_first_answer(
    harness: Harness,
) -> None:
    key = Idempotency("k-1", "admin", {"code": "KEU-01"})
    first = await harness.runner.respond(
        PublishCourse("KEU-01"), course_view, status=201, idempotency=key
    )
    again = await harness.runner.respond(
        PublishCourse("KEU-01"), course_view, status=201, idempotency=key
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.body == again.body == b'{"course":1}'
    assert await harness.count(courses) == 1
    assert await harness.count(outbox_table) == 2, "the repeat publishes nothing"


def shown(body: dict[str, Any]) -> list[RecordShown]:
    return [RecordShown(f"shown-{body['course']}")]


async def test_what_an_answer_shows_is_recorded_with_it_and_again_at_each_replay(
    harness: Harness,
) -> None:
    key = Idempotency("k-1", "admin", {"code": "KEU-01"})
    for _ in range(2):
        answer = await harness.runner.respond(
            PublishCourse("KEU-01"), course_view, idempotency=key, records=shown
        )
        assert answer.body == b'{"course":1}'
    with pytest.raises(Refused):
        await harness.runner.respond(
            PublishCourse("PEL-01", lessons=-1), course_view, records=shown
        )
    assert await harness.published_codes() == ["KEU-01", "KEU-01-copy", "shown-1", "shown-1"]


async def test_the_same_key_with_another_body_is_refused(harness: Harness) -> None:
    await harness.runner.respond(
        PublishCourse("KEU-01"),
        course_view,
        idempotency=Idempotency("k-1", "admin", {"code": "KEU-01"}),
    )
    with pytest.raises(Problem) as refused:
        await harness.runner.respond(
            PublishCourse("PEL-01"),
            course_view,
            idempotency=Idempotency("k-1", "admin", {"code": "PEL-01"}),
        )
    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")
    assert await harness.count(courses) == 1


async def test_a_key_is_scoped_to_its_caller(harness: Harness) -> None:
    for scope in ("admin", "another-admin"):
        await harness.runner.respond(
            PublishCourse("KEU-01"),
            course_view,
            idempotency=Idempotency("k-1", scope, {"code": "KEU-01"}),
        )
    assert await harness.count(courses) == 2


async def test_a_command_nobody_handles_is_refused_and_nothing_is_kept(harness: Harness) -> None:
    with pytest.raises(UnknownCommand, match="Unhandled"):
        async with harness.database.transaction() as tx:
            await harness.runner.apply(tx, PublishCourse("KEU-01"), Unhandled())
    assert await harness.count(courses) == 0
    assert await harness.count(outbox_table) == 0


async def test_a_unit_of_work_hands_its_events_over_once(harness: Harness) -> None:
    async with harness.database.transaction() as tx:
        uow = Courses(tx)
        uow.publish(CourseReady("a"))
        assert uow.collect() == [CourseReady("a")]
        assert uow.collect() == []
