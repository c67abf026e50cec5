"""Back to full speed within 10 s of a server's return, under load and with no process
restart: PostgreSQL or nats-server is stopped for two seconds and started again while events
are written to the outbox, relayed and consumed at a steady rate.

Each event is timed from its commit to its arrival on NATS (the relay) and to its
application by the consumer (end to end). Before the fault they take milliseconds; what is
asserted is how soon after the server is back every event is that quick again, and that each
event committed is on the stream once and applied once.
"""

import asyncio
import statistics
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.dialects.postgresql import UUID

from lms_contracts import CloudEvent, LessonCompleted
from servicekit.consumer import Consumer, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import count_dead_letters
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox, OutboxRelay
from servicekit.servers import LocalPostgres, NatsServer, ensure_database
from servicekit.service import connect_nats
from servicekit.settings import ServiceSettings
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import STREAM, TopologySettings, apply_topology

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)
applied = Table("applied", metadata, Column("event_id", UUID(as_uuid=True), primary_key=True))
RATE = 40  # events a second, each in a transaction of its own
RECOVERY_BOUND = 10.0  # seconds, from the server's return to every event on time again
OUTAGE = 2.0


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
class Timeline:
    """When each event was committed, seen on NATS and applied (the event loop's clock)."""

    committed: dict[uuid.UUID, float] = field(default_factory=dict)
    published: dict[uuid.UUID, float] = field(default_factory=dict)
    applied: dict[uuid.UUID, float] = field(default_factory=dict)

    def latencies(self, reached: dict[uuid.UUID, float]) -> list[tuple[float, float]]:
        """(commit time, seconds to ``reached``) of every committed event, in commit order
        (infinite for one not reached)."""
        return sorted(
            (at, reached.get(event_id, float("inf")) - at)
            for event_id, at in self.committed.items()
        )


def recovered_after(latencies: list[tuple[float, float]], back: float, on_time: float) -> float:
    """Seconds from ``back`` to the commit of the first event from which on every event
    committed was ``on_time``."""
    late = [at for at, took in latencies if took > on_time]
    return max(0.0, (max(late) if late else back) - back)


@dataclass
class Harness:
    database: Database
    js: JetStreamContext
    timeline: Timeline
    writing: bool = True

    async def write(self) -> None:
        """One event per transaction at ``RATE`` a second; a write refused while the database
        is away is tried again, as a client answered 503 would."""
        loop = asyncio.get_running_loop()
        while self.writing:
            try:
                async with self.database.transaction() as tx:
                    await tx.emit(lesson_completed())
                self.timeline.committed[tx.emitted[-1].id] = loop.time()
            except Exception:
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(1 / RATE)

    async def applied_ids(self) -> list[uuid.UUID]:
        async with self.database.read() as conn:
            return list((await conn.execute(select(applied.c.event_id))).scalars())

    async def stream_count(self) -> int:
        return int((await self.js.stream_info(STREAM)).state.messages)


@pytest.fixture
async def harness(own_postgres: LocalPostgres, nats_server: NatsServer) -> AsyncIterator[Harness]:
    """A service's relay and consumer, connected as every service connects, and a writer."""
    url = await ensure_database(own_postgres.url("postgres"), "service")
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    database = Database(engine, Outbox(outbox_table))
    nc = await connect_nats(ServiceSettings(nats_url=nats_server.url), "recovery")
    js = nc.jetstream()
    await apply_topology(js, TopologySettings())  # as deployed: a 30 s ack wait
    timeline = Timeline()
    loop = asyncio.get_running_loop()

    async def apply(tx: Transaction, event: CloudEvent[Any]) -> None:
        await tx.execute(applied.insert().values(event_id=event.id))
        timeline.applied.setdefault(event.id, loop.time())

    async def seen(msg: Msg) -> None:
        event_id = uuid.UUID((msg.headers or {})["Nats-Msg-Id"])
        timeline.published.setdefault(event_id, loop.time())

    watcher = await watch(nats_server.url, seen)
    relay = OutboxRelay(engine, js, database.outbox)
    consumer = Consumer(
        "reporting",
        js,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: apply}),
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        yield Harness(database, js, timeline)
    finally:
        relay.stop()
        consumer.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await watcher.close()
        await nc.close()
        await engine.dispose()


async def watch(url: str, seen: Callable[[Msg], Awaitable[None]]) -> NatsClient:
    nc = await connect_nats(ServiceSettings(nats_url=url), "watcher")
    await nc.subscribe("lms.>", cb=seen)
    await nc.flush()
    return nc


async def under_load(harness: Harness, outage: Callable[[], Awaitable[float]]) -> None:
    """Write for 3 s, run ``outage`` (which returns when the server was back), write on for
    12 s; then assert the recovery bound and that nothing was lost or doubled."""
    loop = asyncio.get_running_loop()
    writer = asyncio.create_task(harness.write())
    await asyncio.sleep(3)
    timeline = harness.timeline
    baseline = [took for _, took in timeline.latencies(timeline.applied) if took < float("inf")]
    back = await outage()
    await asyncio.sleep(RECOVERY_BOUND + 2 - (loop.time() - back))
    harness.writing = False
    await writer
    committed = len(timeline.committed)
    await eventually(lambda: asyncio.sleep(0, len(timeline.applied)), lambda n: n == committed)

    # "on time": within three times the slowest event before the fault, or 0.5 s
    on_time = max(0.5, 3 * max(baseline))
    relay = recovered_after(timeline.latencies(timeline.published), back, on_time)
    end_to_end = recovered_after(timeline.latencies(timeline.applied), back, on_time)
    print(
        f"{committed} events; before the fault: median {statistics.median(baseline) * 1e3:.0f} "
        f"ms, slowest {max(baseline) * 1e3:.0f} ms; on time again after the server was back: "
        f"relay {relay:.2f} s, end to end {end_to_end:.2f} s"
    )
    assert relay <= RECOVERY_BOUND and end_to_end <= RECOVERY_BOUND
    ids = await harness.applied_ids()
    assert sorted(ids) == sorted(timeline.committed)  # each committed event applied once
    assert await harness.stream_count() == committed  # and on the stream once
    assert await count_dead_letters(harness.js) == 0


async def test_back_to_full_speed_within_10_s_after_postgresql_restarts_under_load(
    harness: Harness, own_postgres: LocalPostgres
) -> None:
    async def outage() -> float:
        await asyncio.to_thread(own_postgres.halt)
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(own_postgres.resume)
        return asyncio.get_running_loop().time()

    await under_load(harness, outage)


async def test_back_to_full_speed_within_10_s_after_nats_server_restarts_under_load(
    harness: Harness, nats_server: NatsServer
) -> None:
    async def outage() -> float:
        await asyncio.to_thread(nats_server.stop)  # a clean stop: JetStream keeps its store
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(nats_server.start)
        return asyncio.get_running_loop().time()

    await under_load(harness, outage)
