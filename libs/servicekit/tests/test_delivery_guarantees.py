"""Outbox, relay, inbox and dead letters against real nats-server and PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from lms_contracts import CloudEvent, LessonCompleted, new_event, parse_event, subject_of
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import list_dead_letters, replay_dead_letter
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox, OutboxRelay
from servicekit.servers import NatsServer
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import (
    STREAM,
    TopologySettings,
    apply_topology,
)

metadata = MetaData()
outbox_table, inbox_table, idempotency_table = plumbing_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("lesson_id", Text, nullable=False),
)


def lesson_completed(village_code: str = "74.01.01.2006") -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=now,
        recorded_at=now,
    )


@dataclass
class Store:
    engine: AsyncEngine
    database: Database

    async def applied_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(applied))).scalar_one())

    async def applied_event_ids(self) -> list[uuid.UUID]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(select(applied.c.event_id))).scalars())


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield Store(engine, Database(engine, Outbox(outbox_table)))
    await engine.dispose()


pytestmark = pytest.mark.integration


async def emit_events(store: Store, count: int) -> list[uuid.UUID]:
    ids = []
    async with store.database.transaction() as tx:
        for _ in range(count):
            await tx.emit(lesson_completed())
            ids.append(tx.emitted[-1].id)
    return ids


async def stream_event_ids(js: JetStreamContext) -> list[str]:
    """Every event id stored in the LMS stream, duplicates included."""
    info = await js.stream_info(STREAM)
    if info.state.messages == 0:
        return []
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        ids.append(str(parse_event(msg.data or b"").id))
    return ids


def recording_subscription(fail_on: set[uuid.UUID] | None = None) -> Subscription:
    async def record(tx: Transaction, event: CloudEvent[Any]) -> None:
        if fail_on is not None and event.data.lesson_id in fail_on:
            raise RuntimeError("cannot apply this lesson")
        await tx.execute(
            applied.insert().values(event_id=event.id, lesson_id=str(event.data.lesson_id))
        )

    return Subscription(handlers={LessonCompleted: record})


async def test_relay_publishes_committed_events_with_their_id_as_msg_id(
    store: Store, jetstream: JetStreamContext
) -> None:
    relay = OutboxRelay(store.engine, jetstream, store.database.outbox)
    task = asyncio.create_task(relay.run())
    ids = await emit_events(store, 25)
    try:
        published = await eventually(
            lambda: stream_event_ids(jetstream), lambda got: len(got) >= 25
        )
    finally:
        relay.stop()
        await task
    assert sorted(published) == sorted(str(i) for i in ids)
    msg = await jetstream.get_msg(STREAM, 1)
    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] in {str(i) for i in ids}
    assert msg.headers["traceparent"].startswith("00-")
    assert msg.subject.startswith("lms.content.lesson-completed.v1.74.01.01.2006")
    async with store.engine.connect() as conn:
        assert await store.database.outbox.backlog(conn) == 0


async def test_rolled_back_transaction_publishes_nothing(
    store: Store, jetstream: JetStreamContext
) -> None:
    with pytest.raises(RuntimeError):
        async with store.database.transaction() as tx:
            await tx.emit(lesson_completed())
            raise RuntimeError("state change failed")
    relay = OutboxRelay(store.engine, jetstream, store.database.outbox)
    batch = await relay.publish_pending()
    assert batch.published == 0
    assert (await jetstream.stream_info(STREAM)).state.messages == 0


async def test_relay_crash_between_publish_and_mark_sent_loses_and_doubles_nothing(
    store: Store, jetstream: JetStreamContext
) -> None:
    ids = await emit_events(store, 40)
    relay = OutboxRelay(store.engine, jetstream, store.database.outbox)
    # The relay published every row and died before it could mark them sent.
    async with store.engine.connect() as conn:
        rows = (await conn.execute(outbox_table.select())).all()
    await asyncio.gather(*(relay._publish(row) for row in rows[:30]))

    restarted = OutboxRelay(store.engine, jetstream, store.database.outbox)
    batch = await restarted.publish_pending()

    assert batch.published == 40
    assert sorted(await stream_event_ids(jetstream)) == sorted(str(i) for i in ids)


async def test_consumer_applies_each_event_once_despite_duplicates(
    store: Store, jetstream: JetStreamContext
) -> None:
    event = lesson_completed()
    envelope = new_event(event)
    # The same event published twice under different message ids escapes JetStream
    # de-duplication (e.g. a re-publish after the window); the inbox still applies it once.
    for msg_id in ("a", "b"):
        await jetstream.publish(
            subject_of(event), envelope.to_json(), headers={"Nats-Msg-Id": msg_id}
        )
    consumer = Consumer(
        "reporting",
        jetstream,
        store.database,
        Inbox(inbox_table, "reporting"),
        recording_subscription(),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer_pending(jetstream, "reporting"), lambda n: n == 0)
    finally:
        consumer.stop()
        await task
    assert await store.applied_event_ids() == [envelope.id]


async def test_maintenance_runs_on_schedule_and_a_failed_run_does_not_stop_the_consumer(
    store: Store, jetstream: JetStreamContext
) -> None:
    runs: list[str] = []
    second_run = asyncio.Event()

    async def maintain(tx: Transaction) -> None:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("maintenance failed")
        second_run.set()

    subscription = recording_subscription()
    subscription.maintenance = maintain
    consumer = Consumer(
        "reporting",
        jetstream,
        store.database,
        Inbox(inbox_table, "reporting"),
        subscription,
        ConsumerOptions(fetch_timeout=0.1, maintenance_every=timedelta(milliseconds=50)),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(second_run.wait(), timeout=30)
        event = lesson_completed()
        await jetstream.publish(subject_of(event), new_event(event).to_json())
        await eventually(store.applied_count, lambda n: n == 1)
    finally:
        consumer.stop()
        await task
    assert len(runs) >= 2


async def consumer_pending(js: JetStreamContext, name: str) -> int:
    info = await js.consumer_info(STREAM, name)
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


async def test_consumer_crash_before_ack_is_redelivered_and_applied_once(
    store: Store, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await apply_topology(js, TopologySettings(ack_wait_seconds=1.0))
    relay = OutboxRelay(store.engine, js, store.database.outbox)
    await emit_events(store, 10)
    await relay.publish_pending()

    # First process: applies and commits the batch, then dies before acknowledging it.
    crashed = Consumer(
        "reporting", js, store.database, Inbox(inbox_table, "reporting"), recording_subscription()
    )
    sub = await js.pull_subscribe_bind(durable="reporting", stream=STREAM)
    messages = await sub.fetch(10, timeout=2)
    await crashed._apply([parse_event(m.data) for m in messages])
    await nc.close()
    assert await store.applied_count() == 10

    # Second process: gets the unacknowledged messages again once the ack wait expires.
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    survivor = Consumer(
        "reporting", js, store.database, Inbox(inbox_table, "reporting"), recording_subscription()
    )
    task = asyncio.create_task(survivor.run())
    try:
        info = await eventually(
            lambda: js.consumer_info(STREAM, "reporting"),
            lambda i: i.num_ack_pending == 0
            and i.num_redelivered == 0
            and i.delivered.stream_seq >= 10
            and i.ack_floor.stream_seq >= 10,
        )
    finally:
        survivor.stop()
        await task
        await nc.close()
    assert info.ack_floor.stream_seq == 10
    assert await store.applied_count() == 10


async def test_poison_message_is_dead_lettered_logged_and_the_next_one_still_processed(
    store: Store, jetstream: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    poison, good = lesson_completed(), lesson_completed()
    async with store.database.transaction() as tx:
        await tx.emit(poison)
        await tx.emit(good)
        poison_id = tx.emitted[0].id
    await jetstream.publish(
        "lms.content.lesson-completed.v1.74.01.01.2006",
        b"{not json",
        headers={"Nats-Msg-Id": "garbage"},
    )
    await OutboxRelay(store.engine, jetstream, store.database.outbox).publish_pending()
    failing = {poison.lesson_id}
    consumer = Consumer(
        "reporting",
        jetstream,
        store.database,
        Inbox(inbox_table, "reporting"),
        recording_subscription(fail_on=failing),
        ConsumerOptions(max_deliver=3, retry_delays=(0.05, 0.05), fetch_timeout=0.2),
    )
    task = asyncio.create_task(consumer.run())
    try:
        letters = await eventually(
            lambda: list_dead_letters(jetstream, "reporting"), lambda found: len(found) == 2
        )
        assert list(await store.applied_event_ids()) != []
        assert set(await applied_lessons(store)) == {str(good.lesson_id)}
        by_error = {letter.error.split(":")[0]: letter for letter in letters}
        assert by_error["RuntimeError"].deliveries == 3
        assert "MalformedEvent" in by_error
        # one line each, with what an operator searches by: event id, type, consumer, error
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "servicekit.dead_lettering" and r.levelname == "ERROR"
        ]
        assert len(lines) == 2
        [refused] = [line for line in lines if str(poison_id) in line]
        for part in (LessonCompleted.event_type, "consumer reporting", "cannot apply this lesson"):
            assert part in refused
        [garbage] = [line for line in lines if line != refused]
        assert "(unreadable)" in garbage and "MalformedEvent" in garbage

        # The cause is fixed; the operator replays the dead letter to this consumer only.
        failing.clear()
        await replay_dead_letter(jetstream, by_error["RuntimeError"].sequence)
        await eventually(lambda: applied_lessons(store), lambda got: len(got) == 2)
    finally:
        consumer.stop()
        await task
    assert set(await applied_lessons(store)) == {str(good.lesson_id), str(poison.lesson_id)}
    assert [letter.error for letter in await list_dead_letters(jetstream, "reporting")] == [
        by_error["MalformedEvent"].error
    ]


async def applied_lessons(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        return list(
            (await conn.execute(applied.select().with_only_columns(applied.c.lesson_id))).scalars()
        )


async def test_broker_restart_during_publishing_loses_nothing(
    store: Store, nats_server: NatsServer
) -> None:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    js = nc.jetstream()
    await apply_topology(js)
    ids = await emit_events(store, 400)
    relay = OutboxRelay(store.engine, js, store.database.outbox, batch_size=50)
    task = asyncio.create_task(relay.run())
    await eventually(lambda: count_sent(store), lambda n: n >= 50)
    await asyncio.to_thread(nats_server.restart, hard=True)
    try:
        await eventually(lambda: count_sent(store), lambda n: n == 400, timeout=60)
        # After an unclean restart the operator re-publishes a recent window; duplicates of
        # what survived are absorbed by de-duplication.
        async with store.database.transaction() as tx:
            await store.database.outbox.republish_since(tx.conn, timedelta(minutes=5))
        await eventually(lambda: count_sent(store), lambda n: n == 400, timeout=60)
    finally:
        relay.stop()
        await task
    stored = await stream_event_ids(js)
    await nc.close()
    assert set(stored) == {str(i) for i in ids}
    assert len(stored) == len(set(stored))


async def count_sent(store: Store) -> int:
    async with store.engine.connect() as conn:
        backlog = await store.database.outbox.backlog(conn)
    return 400 - backlog


async def test_republish_marks_only_the_recent_window_unsent(store: Store) -> None:
    await emit_events(store, 3)
    async with store.database.transaction() as tx:
        await tx.execute(update(outbox_table).values(sent_at=func.now()))
    async with store.database.transaction() as tx:
        assert await store.database.outbox.republish_since(tx.conn, timedelta(minutes=1)) == 3
