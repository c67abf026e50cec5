"""Worked example: the region's events in your own PostgreSQL, each exactly once.

Needs asyncpg (``pip install 'lms-contracts[subscriber-postgres]'``). Run it with
``lms-subscriber postgres --region 74 --database-url postgresql://...``, or copy this file
and put your own effect where the lesson count is kept.

Exactly once, with a subscriber that may see an event more than once (a replay, a crash
between your commit and the acknowledgement): the event id is the primary key of
``lms_events``; each event is inserted with ``ON CONFLICT DO NOTHING`` in the same transaction
as its effect, the effect is applied only if the insert added the row, and the kit
acknowledges the message only after the transaction has committed. A crash before the
commit leaves nothing and the event comes again; a crash after it leaves the row, and the
event that comes again changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg

from ..envelope import CloudEvent, EventData
from ..v1 import LessonCompleted
from .dispatch import READABLE
from .kit import Subscriber

SCHEMA = """
CREATE TABLE IF NOT EXISTS lms_events (
    event_id     uuid PRIMARY KEY,
    event_type   text NOT NULL,
    village_code text,
    occurred_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS village_lessons (
    village_code      text PRIMARY KEY,
    lessons_completed bigint NOT NULL
);
"""
INSERT_EVENT = """
INSERT INTO lms_events (event_id, event_type, village_code, occurred_at, payload)
VALUES ($1, $2, $3, $4, $5::jsonb)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
COUNT_LESSON = """
INSERT INTO village_lessons (village_code, lessons_completed) VALUES ($1, 1)
ON CONFLICT (village_code)
DO UPDATE SET lessons_completed = village_lessons.lessons_completed + 1
"""


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+asyncpg://``)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class EventTable:
    """The integrator's side: one row per event, and an effect applied once per event."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self) -> None:
        async with self.pool.acquire() as connection:
            await connection.execute(SCHEMA)

    async def record(self, event: CloudEvent[EventData]) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            added = await connection.fetchval(
                INSERT_EVENT,
                event.id,
                event.type,
                getattr(event.data, "village_code", None),
                event.time,
                event.data.model_dump_json(),
            )
            if added is not None:
                await self.apply(connection, event)

    async def apply(self, connection: Any, event: CloudEvent[EventData]) -> None:
        """Your effect goes here, in the same transaction as the event's row."""
        if isinstance(event.data, LessonCompleted):
            await connection.execute(COUNT_LESSON, event.data.village_code)


async def follow_into_postgres(
    kit: Subscriber,
    database_url: str,
    *,
    since: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=2)
    try:
        table = EventTable(pool)
        await table.create()
        kit.on(*READABLE)(table.record)
        await kit.run(since=since, stop=stop)
    finally:
        await pool.close()
