"""Back to full speed on its own after a fault: PostgreSQL restarted or stopped under a
running relay and a running consumer."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, Table, func, select, text
from sqlalchemy.dialects.postgresql import UUID

from lms_contracts import CloudEvent, LessonCompleted, new_event, subject_of
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import count_dead_letters
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox, OutboxRelay
from servicekit.servers import LocalPostgres, ensure_database
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM, TopologySettings, apply_topology

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)
# Longer than any wait below: an event that arrives in time was woken by NOTIFY, not polled.
POLL_SECONDS = 30.0


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


@dataclass
class Producer:
    """A producer's database with its relay running, and a subscriber on the stream's
    subjects that notes when each event arrives."""

    database: Database
    relay: OutboxRelay
    nc: NatsClient
    arrived: dict[str, asyncio.Future[None]]

    async def publish_latency(self, timeout: float) -> float:
        """Seconds from the commit of one event to its arrival on NATS."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self.database.transaction() as tx:
            await tx.emit(lesson_completed())
            waiter = self.arrived.setdefault(str(tx.emitted[-1].id), loop.create_future())
        await asyncio.wait_for(asyncio.shield(waiter), timeout)
        return loop.time() - started


@pytest.fixture
async def database(own_postgres: LocalPostgres) -> AsyncIterator[Database]:
    url = await ensure_database(own_postgres.url("postgres"), "service")
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield Database(engine, Outbox(outbox_table))
    await engine.dispose()


@pytest.fixture
async def producer(
    database: Database, jetstream: JetStreamContext, nats_url: str
) -> AsyncIterator[Producer]:
    engine = database.engine
    arrived: dict[str, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()

    async def note(msg: Msg) -> None:
        event_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        waiter = arrived.setdefault(event_id, loop.create_future())
        if not waiter.done():
            waiter.set_result(None)

    nc = await nats.connect(nats_url)
    await nc.subscribe("lms.>", cb=note)
    await nc.flush()  # subscribed before the first publish
    relay = OutboxRelay(engine, jetstream, database.outbox, idle_poll_seconds=POLL_SECONDS)
    task = asyncio.create_task(relay.run())
    try:
        yield Producer(database, relay, nc, arrived)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)
        await nc.close()


async def test_relay_is_woken_by_notify_again_soon_after_postgresql_restarts(
    producer: Producer, own_postgres: LocalPostgres
) -> None:
    assert await producer.publish_latency(timeout=2) < 1
    await asyncio.to_thread(own_postgres.restart)
    # The first event after the restart is published once the relay has noticed and listens
    # again; the ones after it as promptly as before the restart.
    recovered = await producer.publish_latency(timeout=10)
    latencies = [await producer.publish_latency(timeout=1) for _ in range(5)]
    print(f"after restart: first {recovered:.3f}s, then {max(latencies):.3f}s at most")
    assert recovered < 5
    assert max(latencies) < 0.5


async def test_relay_listens_again_when_its_connection_is_dropped_by_the_server(
    producer: Producer,
) -> None:
    assert await producer.publish_latency(timeout=2) < 1
    async with producer.database.read() as conn:
        dropped = (
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'"
                )
            )
        ).all()
    assert len(dropped) == 1
    latencies = [await producer.publish_latency(timeout=2) for _ in range(3)]
    assert max(latencies) < 1


async def test_consumer_holds_its_messages_through_a_database_outage_and_applies_them_after(
    database: Database, own_postgres: LocalPostgres, jetstream: JetStreamContext
) -> None:
    # A server that redelivers what is not acknowledged within a second, and a consumer that
    # would dead-letter at the second failure: an outage must cost no delivery.
    await apply_topology(jetstream, TopologySettings(ack_wait_seconds=1.0))

    async def record(tx: Transaction, event: CloudEvent[Any]) -> None:
        await tx.execute(applied.insert().values(event_id=event.id))

    consumer = Consumer(
        "reporting",
        jetstream,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: record}),
        ConsumerOptions(
            max_deliver=2, retry_delays=(0.1,), fetch_timeout=0.2, hold_progress_every=0.3
        ),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await publish_events(jetstream, 20)
        await eventually(lambda: applied_count(database), lambda n: n == 20)
        await asyncio.to_thread(own_postgres.halt)
        await publish_events(jetstream, 20)
        # paused, holding what it was given (how much of the 20 that is depends on timing)
        await eventually(lambda: asyncio.sleep(0, consumer.pauses.current), bool)
        await eventually(
            lambda: jetstream.consumer_info(STREAM, "reporting"),
            lambda info: info.num_ack_pending > 0,
        )
        await asyncio.sleep(3)  # the outage: three ack waits long
        await asyncio.to_thread(own_postgres.resume)
        loop = asyncio.get_running_loop()
        returned = loop.time()
        await eventually(lambda: applied_count(database), lambda n: n == 40, timeout=10)
        caught_up = loop.time() - returned
        info = await eventually(
            lambda: jetstream.consumer_info(STREAM, "reporting"),
            lambda info: (info.num_ack_pending, info.num_pending) == (0, 0),
        )
    finally:
        consumer.stop()
        await task
    print(f"consumer caught up {caught_up:.2f}s after the database returned")
    assert caught_up < 3
    assert info.num_redelivered == 0
    assert await count_dead_letters(jetstream) == 0


async def publish_events(js: JetStreamContext, count: int) -> None:
    for _ in range(count):
        data = lesson_completed()
        await js.publish(subject_of(data), new_event(data).to_json())


async def applied_count(database: Database) -> int:
    async with database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(applied))).scalar_one())
