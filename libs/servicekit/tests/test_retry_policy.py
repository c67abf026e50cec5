"""One retry policy: the consumer's nak delays decide when a failed message comes back."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import MetaData

from lms_contracts import CloudEvent, LessonCompleted, new_event, subject_of
from servicekit.consumer import Consumer, ConsumerOptions, Subscription
from servicekit.database import Database, Transaction, make_engine
from servicekit.deadletters import list_dead_letters
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox
from servicekit.retries import RETRIES
from servicekit.settings import ServiceSettings
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually
from servicekit.topology import (
    STREAM,
    UNLIMITED,
    TopologySettings,
    apply_topology,
    consumer_config,
)

metadata = MetaData()
outbox_table, inbox_table, _ = plumbing_tables(metadata)


def test_the_documented_timeline_is_the_policy_every_default_follows() -> None:
    assert RETRIES.delays == (1.0, 5.0, 30.0, 120.0) and RETRIES.max_deliver == 5
    # deliveries 1..5 at these seconds after the first; a failure at the fifth dead-letters
    assert RETRIES.timeline() == [0.0, 1.0, 6.0, 36.0, 156.0]
    settings = ServiceSettings()
    assert tuple(settings.consumer_retry_delays) == RETRIES.delays
    assert settings.consumer_max_deliver == RETRIES.max_deliver
    assert tuple(ConsumerOptions().retry_delays) == RETRIES.delays


def test_the_server_keeps_no_retry_schedule_and_no_limit_of_its_own() -> None:
    config = consumer_config("reporting", TopologySettings())
    assert not config.backoff
    assert config.ack_wait == 30.0
    assert config.max_deliver == UNLIMITED == -1


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield Database(engine, Outbox(outbox_table))
    await engine.dispose()


@pytest.mark.integration
async def test_redeliveries_follow_the_nak_delays_then_the_message_is_dead_lettered(
    database: Database, nats_url: str
) -> None:
    delays, max_deliver = (0.2, 0.4, 0.8), 4
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    # the server's own settings as deployed: a long ack wait, which must not delay anything
    await apply_topology(js, TopologySettings())
    loop = asyncio.get_running_loop()
    delivered_at: list[float] = []

    async def always_fails(tx: Transaction, event: CloudEvent[Any]) -> None:
        delivered_at.append(loop.time())
        raise RuntimeError("a dependency of this handler is broken")

    consumer = Consumer(
        "reporting",
        js,
        database,
        Inbox(inbox_table, "reporting"),
        Subscription(handlers={LessonCompleted: always_fails}),
        ConsumerOptions(max_deliver=max_deliver, retry_delays=delays, fetch_timeout=0.5),
    )
    task = asyncio.create_task(consumer.run())
    try:
        event = lesson_completed()
        await js.publish(subject_of(event), new_event(event).to_json())
        letters = await eventually(
            lambda: list_dead_letters(js, "reporting"), lambda found: len(found) == 1, timeout=10
        )
        await eventually(
            lambda: js.consumer_info(STREAM, "reporting"),
            lambda info: (info.num_ack_pending, info.num_pending) == (0, 0),
        )
    finally:
        consumer.stop()
        await task
        await nc.close()
    intervals = [later - earlier for earlier, later in pairwise(delivered_at)]
    print("redelivered after", ", ".join(f"{s:.3f}s" for s in intervals))
    assert len(delivered_at) == max_deliver and letters[0].deliveries == max_deliver
    for interval, delay in zip(intervals, delays, strict=True):
        assert delay * 0.9 <= interval <= delay + 0.3, (intervals, delays)


@pytest.mark.integration
async def test_topology_apply_drops_the_backoff_and_the_limit_of_an_existing_consumer(
    jetstream: JetStreamContext,
) -> None:
    await jetstream.delete_consumer(STREAM, "reporting")
    # as an earlier release created it, with a server-side schedule
    await jetstream.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name="reporting",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=8,
            backoff=[30.0, 60.0, 120.0, 300.0],
            ack_wait=30.0,
        ),
    )
    applied = await apply_topology(jetstream, TopologySettings())
    info = await jetstream.consumer_info(STREAM, "reporting")
    assert applied[f"{STREAM}/reporting"] == "updated"
    assert not info.config.backoff and info.config.ack_wait == 30.0
    assert info.config.max_deliver == UNLIMITED


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
