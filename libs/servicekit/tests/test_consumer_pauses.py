"""Errors of the infrastructure pause the consumer; only errors of a message count.

Each test runs a consumer whose policy would dead-letter a message at its second delivery
(0.1 s after the first failure) on a server that gives out again whatever is not acknowledged
within a second. A fault that counted against the messages, or let the server redeliver them,
would show as redeliveries or dead letters; a pause shows as neither.
"""

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, Table, func, select
from sqlalchemy.dialects.postgresql import UUID

from lms_contracts import CloudEvent, LessonCompleted, new_event, subject_of
from servicekit import pauses
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, database_unavailable, make_engine
from servicekit.deadletters import count_dead_letters, list_dead_letters
from servicekit.inbox import Inbox
from servicekit.observability import CONSUMER_PAUSED
from servicekit.outbox import Outbox
from servicekit.servers import LocalPostgres, connect_asyncpg, ensure_database
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import DLQ_STREAM, STREAM, TopologySettings, apply_topology

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)
POLICY = ConsumerOptions(
    max_deliver=2, retry_delays=(0.1,), fetch_timeout=0.2, hold_progress_every=0.3
)


def lesson_completed() -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at=now,
        recorded_at=now,
    )


async def publish_events(js: JetStreamContext, count: int) -> set[uuid.UUID]:
    ids = set()
    for _ in range(count):
        event = new_event(lesson_completed())
        await js.publish(subject_of(event.data), event.to_json())
        ids.add(event.id)
    return ids


async def record(tx: Transaction, event: CloudEvent[Any]) -> None:
    await tx.execute(applied.insert().values(event_id=event.id))


class Service:
    """A consumer on a PostgreSQL server of its own, on a server that redelivers after 1 s."""

    def __init__(self, postgres: LocalPostgres, url: str, js: JetStreamContext) -> None:
        self.postgres, self.url, self.js = postgres, url, js
        # bounds as in production, only shorter (DATABASE_*_TIMEOUT_SECONDS)
        engine = make_engine(url, connect_timeout=1.0, statement_timeout=1.0)
        self.database = Database(engine, Outbox(outbox_table))
        self.consumer = Consumer(
            "reporting",
            js,
            self.database,
            Inbox(inbox_table, "reporting"),
            Subscription(handlers={LessonCompleted: record}),
            POLICY,
        )
        self.seen: list[str] = []  # the reasons of the pauses observed

    async def applied_ids(self) -> list[uuid.UUID]:
        async with self.database.read() as conn:
            return list((await conn.execute(select(applied.c.event_id))).scalars())

    async def applied_count(self) -> int:
        """How many events are applied (-1 while the database does not answer)."""
        try:
            async with self.database.read() as conn:
                query = select(func.count()).select_from(applied)
                return int((await conn.execute(query)).scalar_one())
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            return -1

    async def watch_pauses(self) -> None:
        while True:
            pause = self.consumer.pauses.current
            if pause is not None and pause.reason not in self.seen:
                self.seen.append(pause.reason)
                assert CONSUMER_PAUSED.labels("reporting")._value.get() == 1
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running(
    postgres: LocalPostgres, js: JetStreamContext, *, statement_timeout: str | None = None
) -> AsyncIterator[Service]:
    url = await ensure_database(postgres.url("postgres"), "service")
    conn = await connect_asyncpg(url)
    try:
        if statement_timeout is not None:
            await conn.execute(
                f"ALTER DATABASE service SET statement_timeout = '{statement_timeout}'"
            )
    finally:
        await conn.close()
    engine = make_engine(url)
    async with engine.begin() as setup:
        await setup.run_sync(metadata.create_all)
    await engine.dispose()
    await apply_topology(js, TopologySettings(ack_wait_seconds=1.0))
    service = Service(postgres, url, js)
    task = asyncio.create_task(service.consumer.run())
    watcher = asyncio.create_task(service.watch_pauses())
    try:
        yield service
    finally:
        watcher.cancel()
        service.consumer.stop()
        await asyncio.wait_for(task, 30)
        await service.database.dispose()


Load = Callable[[], Awaitable[set[uuid.UUID]]]


async def halt_for_three_ack_waits(service: Service, load: Load) -> set[uuid.UUID]:
    """PostgreSQL stopped (connections refused), three of the server's ack waits long."""
    await asyncio.to_thread(service.postgres.halt)
    published = await load()
    await asyncio.sleep(3)
    await asyncio.to_thread(service.postgres.resume)
    return published


async def freeze_for_three_ack_waits(service: Service, load: Load) -> set[uuid.UUID]:
    """PostgreSQL stopped with SIGSTOP (hung: connections open, nothing answers) while the
    consumer applies a batch, for three of the server's ack waits after it paused."""
    await asyncio.to_thread(service.postgres.freeze)
    try:
        published = await load()
        await eventually(
            lambda: asyncio.sleep(0, service.consumer.pauses.current),
            lambda pause: pause is not None,
        )
        await asyncio.sleep(3)
    finally:
        await asyncio.to_thread(service.postgres.thaw)
    return published


async def reset_the_consumers_connection(service: Service, load: Load) -> set[uuid.UUID]:
    """The backend applying the consumer's batch is killed (its connection reset); PostgreSQL
    then restarts every backend and recovers from its log before it takes connections."""
    async with locked(service.url):
        published = await load()
        pid = await eventually(lambda: waiting_backend(service.url), lambda found: found > 0)
        os.kill(pid, signal.SIGKILL)
    return published


async def time_out_every_statement_for_three_seconds(
    service: Service, load: Load
) -> set[uuid.UUID]:
    """A lock held (by a migration, say) past the 0.3 s statement timeout: every statement of
    the consumer's batches is cancelled, while the database answers everything else."""
    async with locked(service.url):
        published = await load()
        await eventually(lambda: waiting_backend(service.url), lambda found: found > 0)
        await asyncio.sleep(3)
    return published


@asynccontextmanager
async def locked(url: str) -> AsyncIterator[None]:
    conn = await connect_asyncpg(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute("LOCK TABLE applied IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        # closing ends the transaction and its lock; after a killed backend, PostgreSQL has
        # dropped this connection already
        with suppress(asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, OSError):
            await conn.close()


async def waiting_backend(url: str) -> int:
    """The process id of a backend waiting for a lock (the consumer's), or 0."""
    conn = await connect_asyncpg(url)
    try:
        found = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' LIMIT 1"
        )
    finally:
        await conn.close()
    return int(found or 0)


FAULTS: dict[str, tuple[Callable[[Service, Load], Awaitable[set[uuid.UUID]]], str | None]] = {
    "database unreachable": (halt_for_three_ack_waits, None),
    "database hung": (freeze_for_three_ack_waits, None),
    "connection reset": (reset_the_consumers_connection, None),
    "statement timeout": (time_out_every_statement_for_three_seconds, "300ms"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_an_infrastructure_fault_pauses_the_consumer_and_costs_no_delivery(
    fault: str, own_postgres: LocalPostgres, jetstream: JetStreamContext
) -> None:
    cause, statement_timeout = FAULTS[fault]
    async with running(own_postgres, jetstream, statement_timeout=statement_timeout) as service:
        before = await publish_events(jetstream, 20)
        await eventually(service.applied_count, lambda n: n == 20)
        during = await asyncio.wait_for(cause(service, lambda: publish_events(jetstream, 20)), 60)
        await eventually(service.applied_count, lambda n: n == 40, timeout=30)
        info = await eventually(
            lambda: jetstream.consumer_info(STREAM, "reporting"),
            lambda info: (info.num_ack_pending, info.num_pending) == (0, 0),
        )
        assert service.consumer.pauses.current is None
        assert CONSUMER_PAUSED.labels("reporting")._value.get() == 0
        ids = await service.applied_ids()
    assert service.seen == [pauses.DATABASE]
    assert sorted(ids) == sorted(before | during)  # each once
    assert info.num_redelivered == 0
    assert await count_dead_letters(jetstream) == 0


async def test_a_dead_letter_is_held_until_the_dead_letter_stream_stores_it(
    own_postgres: LocalPostgres, jetstream: JetStreamContext
) -> None:
    """Once a message has used up its deliveries, it leaves only as a stored copy: while the
    dead-letter stream cannot take it, the consumer pauses, holding the message, for longer
    than the server's ack wait (which would have given it out again) and more deliveries than
    a server-side limit would have made."""
    poison = new_event(lesson_completed())

    async def refuse_the_poison(tx: Transaction, event: CloudEvent[Any]) -> None:
        if event.id == poison.id:
            raise ValueError("a lesson this projection refuses")
        await record(tx, event)

    async with running(own_postgres, jetstream) as service:
        service.consumer.subscription.handlers = {LessonCompleted: refuse_the_poison}
        await jetstream.delete_stream(DLQ_STREAM)  # nowhere to store dead letters for now
        await jetstream.publish(subject_of(poison.data), poison.to_json())
        others = await publish_events(jetstream, 10)
        await eventually(
            lambda: asyncio.sleep(0, service.consumer.pauses.current),
            lambda pause: pause is not None and pause.reason == pauses.DEAD_LETTER_STREAM,
        )
        await asyncio.sleep(3)  # three ack waits
        held = await jetstream.consumer_info(STREAM, "reporting")
        await apply_topology(jetstream, TopologySettings(ack_wait_seconds=1.0))  # it is back
        letters = await eventually(
            lambda: list_dead_letters(jetstream, "reporting"), lambda found: len(found) == 1
        )
        await eventually(service.applied_count, lambda n: n == 10)
        await eventually(
            lambda: jetstream.consumer_info(STREAM, "reporting"),
            lambda info: (info.num_ack_pending, info.num_pending) == (0, 0),
        )
        ids = set(await service.applied_ids())
    assert held.num_ack_pending >= 1 and held.num_redelivered == 1  # the retry, nothing else
    assert letters[0].deliveries == 2 and letters[0].error.startswith("ValueError")
    assert letters[0].event_type == LessonCompleted.event_type
    assert ids == others
    assert service.seen == [pauses.DEAD_LETTER_STREAM]


async def test_a_deleted_durable_consumer_pauses_the_consumer_until_it_is_created_again(
    own_postgres: LocalPostgres, jetstream: JetStreamContext
) -> None:
    async with running(own_postgres, jetstream) as service:
        before = await publish_events(jetstream, 5)
        await eventually(service.applied_count, lambda n: n == 5)
        await jetstream.delete_consumer(STREAM, "reporting")
        await eventually(
            lambda: asyncio.sleep(0, service.consumer.pauses.current),
            lambda pause: pause is not None and pause.reason == pauses.PULL_REFUSED,
        )
        during = await publish_events(jetstream, 5)
        await apply_topology(
            jetstream, TopologySettings(ack_wait_seconds=1.0)
        )  # `lms topology apply`
        await eventually(service.applied_count, lambda n: n == 10)
        await eventually(
            lambda: jetstream.consumer_info(STREAM, "reporting"),
            lambda info: (info.num_ack_pending, info.num_pending) == (0, 0),
        )
        assert service.consumer.pauses.current is None
        ids = await service.applied_ids()
    # the new durable consumer delivers the whole stream again: the inbox applies each once
    assert sorted(ids) == sorted(before | during)
    assert service.seen == [pauses.PULL_REFUSED]
