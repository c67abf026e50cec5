"""Dead letters: every one listed and counted, filtered, and replayed once however often the
replay is run."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, Table, func, select
from sqlalchemy.dialects.postgresql import UUID

from lms_contracts import (
    CloudEvent,
    EventData,
    LessonCompleted,
    Withdrawn,
    new_event,
    subject_of,
)
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import (
    DeadLetterFilter,
    count_dead_letters,
    dead_letter_page,
    list_dead_letters,
    replay_dead_letters,
)
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM, dlq_subject, replay_subject

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)
NOW = datetime.now(UTC)


def lesson_completed() -> LessonCompleted:
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at=NOW,
        recorded_at=NOW,
    )


def withdrawn() -> Withdrawn:
    return Withdrawn(
        enrollment_id=uuid.uuid4(),
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_title="Tata kelola dana desa",
        village_code="74.01.01.2006",
        withdrawn_at=NOW,
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield Database(engine, Outbox(outbox_table))
    await engine.dispose()


async def applied_count(database: Database) -> int:
    async with database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(applied))).scalar_one())


async def test_more_than_a_thousand_dead_letters_are_all_listed_replayed_and_applied_once(
    database: Database, jetstream: JetStreamContext
) -> None:
    count = 1_100
    broken = True

    async def apply(tx: Transaction, event: CloudEvent[Any]) -> None:
        if broken:
            raise RuntimeError("the projection is broken")
        await tx.execute(applied.insert().values(event_id=event.id))

    await asyncio.gather(*(publish(jetstream, lesson_completed()) for _ in range(count)))
    consumer = Consumer(
        "reporting",
        jetstream,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: apply}),
        ConsumerOptions(max_deliver=1, fetch_timeout=0.2),  # dead-letter at the first failure
    )
    task = asyncio.create_task(consumer.run())
    reporting = DeadLetterFilter(consumer="reporting")
    try:
        await eventually(lambda: count_dead_letters(jetstream, reporting), lambda n: n == count)

        started = time.perf_counter()
        seen, after, pages = [], 0, 0
        while True:
            page = await dead_letter_page(jetstream, reporting, after=after, limit=400)
            assert page.total == count
            seen += [letter.sequence for letter in page.letters]
            pages += 1
            if page.next_after is None:
                break
            after = page.next_after
        listed = time.perf_counter() - started
        assert pages == 3 and len(seen) == len(set(seen)) == count
        assert len(await list_dead_letters(jetstream, "reporting")) == count

        broken = False  # the fix is deployed
        started = time.perf_counter()
        replayed = [letter async for letter in replay_dead_letters(jetstream, reporting)]
        replay_took = time.perf_counter() - started
        assert len(replayed) == count
        await eventually(lambda: applied_count(database), lambda n: n == count, timeout=30)

        again = [letter async for letter in replay_dead_letters(jetstream, reporting)]
        assert again == [] and await count_dead_letters(jetstream) == 0
    finally:
        consumer.stop()
        await task
    print(f"{count} dead letters: listed in {listed:.2f}s, replayed in {replay_took:.2f}s")
    assert await applied_count(database) == count


async def test_dead_letters_are_filtered_by_consumer_type_and_time_and_replayed_once(
    jetstream: JetStreamContext,
) -> None:
    await dead_letter(jetstream, "reporting", lesson_completed(), "a")
    await dead_letter(jetstream, "reporting", withdrawn(), "b")
    await dead_letter(jetstream, "notification", lesson_completed(), "c")
    await asyncio.sleep(0.05)  # stored times well apart on either side of the cut
    cut = datetime.now(UTC)
    await asyncio.sleep(0.05)
    later = (await dead_letter(jetstream, "reporting", lesson_completed(), "d")).seq
    lessons = LessonCompleted.event_type

    assert await count_dead_letters(jetstream) == 4
    assert await count_dead_letters(jetstream, DeadLetterFilter(consumer="reporting")) == 3
    assert await count_dead_letters(jetstream, DeadLetterFilter(event_type=lessons)) == 3
    of_reporting = DeadLetterFilter(consumer="reporting", event_type=lessons)
    assert [x.error for x in await list_dead_letters(jetstream, where=of_reporting)] == ["a", "d"]
    recent = DeadLetterFilter(since=cut)
    assert [x.sequence for x in await list_dead_letters(jetstream, where=recent)] == [later]
    assert await count_dead_letters(jetstream, recent) == 1
    assert await count_dead_letters(jetstream, DeadLetterFilter(until=cut)) == 3

    replayed = [x.error async for x in replay_dead_letters(jetstream, of_reporting)]
    assert replayed == ["a", "d"]
    assert [x async for x in replay_dead_letters(jetstream, of_reporting)] == []
    assert sorted(x.error for x in await list_dead_letters(jetstream)) == ["b", "c"]
    info = await jetstream.stream_info(STREAM, subjects_filter=replay_subject("reporting"))
    assert info.state.subjects == {replay_subject("reporting"): 2}


async def publish(js: JetStreamContext, data: EventData) -> None:
    await js.publish(subject_of(data), new_event(data).to_json())


async def dead_letter(js: JetStreamContext, consumer: str, data: EventData, error: str) -> Any:
    """A message as a consumer dead-letters it."""
    event = new_event(data)
    headers = {
        "Lms-Consumer": consumer,
        "Lms-Subject": subject_of(data),
        "Lms-Event-Type": event.type,
        "Lms-Deliveries": "5",
        "Lms-Error": error,
    }
    return await js.publish(dlq_subject(consumer), event.to_json(), headers=headers)


async def test_a_message_delivered_past_every_try_is_dead_lettered_untried(
    database: Database, jetstream: JetStreamContext
) -> None:
    """A message whose handling stops the process (killed, out of memory) is never settled:
    the server delivers it without limit, so after max_deliver + 3 deliveries the consumer
    stores it in LMS_DLQ without trying it again."""
    tried: list[uuid.UUID] = []

    async def apply(tx: Transaction, event: CloudEvent[Any]) -> None:
        tried.append(event.id)

    event = new_event(lesson_completed())
    await jetstream.publish(subject_of(event.data), event.to_json())
    crashing = await jetstream.pull_subscribe_bind(durable="reporting", stream=STREAM)
    for _ in range(5):  # five processes died holding it (a nak stands in for the ack wait)
        [msg] = await crashing.fetch(1, timeout=5)
        await msg.nak()
    await crashing.unsubscribe()
    consumer = Consumer(
        "reporting",
        jetstream,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: apply}),
        ConsumerOptions(max_deliver=2, fetch_timeout=0.2),
    )
    task = asyncio.create_task(consumer.run())
    try:
        letters = await eventually(
            lambda: list_dead_letters(jetstream, "reporting"), lambda found: len(found) == 1
        )
    finally:
        consumer.stop()
        await task
    assert tried == []
    assert letters[0].deliveries == 6 and "without being settled" in letters[0].error
