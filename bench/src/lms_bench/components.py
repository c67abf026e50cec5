"""The system's own parts measured alone on the same machine and run: the outbox relay
draining a backlog, and the reporting consumer catching up on every event of the run."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.ext.asyncio import AsyncEngine

from lms_contracts import Enrolled, new_event
from servicekit.clock import system_clock
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, make_engine
from servicekit.idempotency import IdempotencyStore
from servicekit.inbox import Inbox
from servicekit.migrations import upgrade
from servicekit.outbox import Outbox, OutboxRelay
from servicekit.runner import Runner
from servicekit.servers import connect_asyncpg, ensure_database
from servicekit.service import ServiceDefinition
from servicekit.tables import plumbing_tables
from servicekit.topology import STREAM, interests


def open_service(
    definition: ServiceDefinition[Any, Any], engine: AsyncEngine
) -> tuple[Database, Subscription | None]:
    """The service's database and its consumer's subscription, as its process opens them."""
    tables = definition.metadata.tables
    database = Database(engine, Outbox(tables["outbox"]))
    definition.deps.bind(database)
    runner: Runner[Any] = Runner(
        database,
        IdempotencyStore(tables["idempotency_keys"]),
        definition.unit_of_work,
        definition.handlers,
        definition.outbound,
    )
    return database, definition.subscription(runner)


async def relay_rate(server_url: str, js: Any, events: int) -> float:
    """Publishes per second of the outbox relay draining ``events`` committed rows."""
    from sqlalchemy import MetaData

    url = await ensure_database(server_url, f"bench_relay_{uuid.uuid4().hex[:6]}")
    metadata = MetaData()
    outbox_table, _, _ = plumbing_tables(metadata)
    engine = make_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        outbox = Outbox(outbox_table)
        now = datetime.now(UTC)
        for start in range(0, events, 2000):
            rows = []
            for _ in range(min(2000, events - start)):
                event = new_event(
                    Enrolled(
                        enrollment_id=uuid.uuid4(),
                        learner_id=uuid.uuid4(),
                        course_id=uuid.uuid4(),
                        course_version=1,
                        course_title="Bench",
                        village_code="74.01.01.2006",
                        position="kepala_desa",
                        enrolled_at=now,
                    )
                )
                # a subject no service consumes: the relay's work without side effects
                rows.append(
                    {
                        "event_id": event.id,
                        "subject": "lms.bench.relay",
                        "event_type": event.type,
                        "payload": event.to_json(),
                        "correlation_id": str(event.id),
                    }
                )
            async with engine.begin() as conn:
                await conn.execute(outbox_table.insert(), rows)
        relay = OutboxRelay(engine, js, outbox, batch_size=1000)
        started = time.perf_counter()
        published = 0
        while published < events:
            result = await relay.publish_pending()
            if result.failed:
                raise RuntimeError("relay publishes failed during the benchmark")
            published += result.published
        return events / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def reporting_consumer_rate(server_url: str, js: Any) -> tuple[float, int]:
    """Events per second of reporting's consumer replaying every event of the run."""
    import reporting.main as reporting

    url = await ensure_database(server_url, f"bench_reporting_{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(upgrade, reporting.MIGRATIONS, url)
    name = f"bench-reporting-{uuid.uuid4().hex[:6]}"
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=20_000,
        ),
    )
    total = int((await js.consumer_info(STREAM, name)).num_pending or 0)
    settings = reporting.Settings(database_url=url)
    definition = reporting.definition(settings, reporting.dependencies(settings))
    engine = make_engine(url, pool_size=2)
    database, subscription = open_service(definition, engine)
    assert subscription is not None
    consumer = Consumer(
        name,
        js,
        database,
        Inbox(definition.metadata.tables["inbox"], name),
        subscription,
        ConsumerOptions(batch_size=2000, fetch_timeout=0.5),
        wanted=interests("reporting"),
    )
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    try:
        while True:
            info = await js.consumer_info(STREAM, name)
            if info.ack_floor.consumer_seq >= total:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        consumer.stop()
        await task
        await js.delete_consumer(STREAM, name)
        await engine.dispose()
    return (total / elapsed if elapsed else 0.0), total


async def bulk_enrollment_rate(server_url: str, learners: int) -> tuple[float, float]:
    """(bulk, plain): learners per second of a bulk enrollment job over ``learners`` learners of
    a province, each enrollment's event written to the outbox in the same transaction; and rows
    per second of plain batched INSERTs of as many enrollment rows into a table shaped like
    ``enrollments`` (same columns and indexes), in the same database."""
    import enrollment.main as enrollment
    from enrollment import jobs
    from enrollment.domain.model import BulkEnrollment
    from enrollment.store.unit_of_work import SqlUnitOfWork
    from servicekit import regions

    url = await ensure_database(server_url, f"bench_bulk_{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(upgrade, enrollment.MIGRATIONS, url)
    villages = sorted(regions.villages_of_province("74"))
    now = datetime.now(UTC)
    conn = await connect_asyncpg(url)
    course_id = uuid.uuid4()
    try:
        await conn.copy_records_to_table(
            "learners",
            columns=[
                "learner_id",
                "full_name",
                "position",
                "village_code",
                "registered_at",
                "updated_at",
            ],
            records=[
                (
                    uuid.uuid4(),
                    f"Aparatur {i}",
                    "sekretaris_desa",
                    villages[i % len(villages)],
                    now,
                    now,
                )
                for i in range(learners)
            ],
        )
        await conn.execute(
            "INSERT INTO courses VALUES ($1, 1, 'BULK', 'Keuangan Desa', '[]'::jsonb, $2)",
            course_id,
            now,
        )
        await conn.execute("CREATE TABLE plain_enrollments (LIKE enrollments INCLUDING ALL)")
        rows = [
            (uuid.uuid4(), uuid.uuid4(), course_id, 1, "Keuangan Desa", None, "enrolled", now)
            for _ in range(learners)
        ]
        started = time.perf_counter()
        for start in range(0, learners, 1000):
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO plain_enrollments (enrollment_id, learner_id, course_id, course_version, "
                    "course_title, cohort, status, enrolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    rows[start : start + 1000],
                )
        plain = learners / (time.perf_counter() - started)
    finally:
        await conn.close()
    settings = enrollment.Settings(database_url=url)
    definition = enrollment.definition(settings, enrollment.dependencies(settings))
    engine = make_engine(url, pool_size=2)
    database, _ = open_service(definition, engine)
    try:
        plan = BulkEnrollment(course_id, 1, "Keuangan Desa", "74", (), None)
        job_id = uuid.uuid4()
        async with database.transaction() as tx:
            await SqlUnitOfWork(tx, system_clock).add_bulk_job(job_id, plan, learners, "bench")
        started = time.perf_counter()
        await jobs.run_job(database, job_id, system_clock)
        return learners / (time.perf_counter() - started), plain
    finally:
        await engine.dispose()
