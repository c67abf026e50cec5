"""Rebuild every projection by replaying the stream into fresh tables, then switch over.

The replay writes into schema ``rebuild`` (same tables, its own inbox) while the live consumer
keeps serving and updating the current tables. Once the replay has caught up, one transaction
locks the live tables (the live consumer waits a moment), applies the last few events, and
swaps the rebuilt tables in by moving them between schemas. Events the live consumer applies
again after the switch change nothing (the projection is idempotent), so it carries on from
wherever it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import lms_contracts as c
from servicekit.topology import STREAM, interests

from .events.inbound import project_events
from .store.tables import metadata

PROJECTIONS = ["learners", "enrollments", "courses", "rollups", "activity", "contacts"]
SCHEMA = "rebuild"
WANTED = interests("reporting")


def projection_metadata() -> MetaData:
    rebuilt = MetaData(schema=SCHEMA)
    for name in PROJECTIONS:
        metadata.tables[name].to_metadata(rebuilt, schema=SCHEMA)
    return rebuilt


async def prepare(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(projection_metadata().create_all)


async def replay_consumer(js: JetStreamContext) -> tuple[Any, int]:
    name = f"reporting-rebuild-{uuid.uuid4().hex[:8]}"
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=300,
            max_waiting=1,
        ),
    )
    info = await js.consumer_info(STREAM, name)
    subscription = await js.pull_subscribe_bind(consumer=name, stream=STREAM)
    return subscription, int(info.num_pending or 0)


async def apply_batch(conn: AsyncConnection, messages: list[Any]) -> None:
    """The same projection code as the live consumer, on the rebuild schema."""
    await conn.execute(text(f"SET LOCAL search_path TO {SCHEMA}, public"))
    events = [c.parse_event(m.data) for m in messages if WANTED is None or WANTED(m.subject)]
    await project_events(conn, list({e.id: e for e in events}.values()))


async def fetch(subscription: Any, batch: int = 1000) -> list[Any]:
    from nats.errors import TimeoutError as NatsTimeout

    try:
        return list(await subscription.fetch(batch, timeout=1))
    except (NatsTimeout, TimeoutError):
        return []


async def rebuild(
    engine: AsyncEngine, js: JetStreamContext, progress: Callable[[int, int], None] | None = None
) -> int:
    """Replay everything into fresh tables and switch over; returns events replayed."""
    await prepare(engine)
    subscription, total = await replay_consumer(js)
    done = 0
    translated = engine.execution_options(schema_translate_map={None: SCHEMA})
    while done < total:
        messages = await fetch(subscription)
        if not messages:
            break
        async with translated.begin() as conn:
            await apply_batch(conn, messages)
        done += len(messages)
        if progress:
            progress(done, total)
    async with engine.begin() as conn:
        tables = ", ".join(f"public.{t}" for t in PROJECTIONS)
        await conn.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
        remaining = await conn.execution_options(schema_translate_map={None: SCHEMA})
        while messages := await fetch(subscription):
            await apply_batch(remaining, messages)
            done += len(messages)
        retired = f"retired_{uuid.uuid4().hex[:8]}"
        await conn.execute(text(f"CREATE SCHEMA {retired}"))
        for table in PROJECTIONS:
            await conn.execute(text(f"ALTER TABLE public.{table} SET SCHEMA {retired}"))
            await conn.execute(text(f"ALTER TABLE {SCHEMA}.{table} SET SCHEMA public"))
        await conn.execute(text(f"DROP SCHEMA {retired} CASCADE"))
        await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    if progress:
        progress(done, max(total, done))
    await subscription.unsubscribe()
    return done
