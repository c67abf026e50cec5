"""Idempotent consumption: an event id is recorded in the transaction that applies it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection


class Inbox:
    def __init__(self, table: Table, consumer: str) -> None:
        self.table = table
        self.consumer = consumer

    async def claim(
        self, conn: AsyncConnection, events: Sequence[tuple[uuid.UUID, str]]
    ) -> set[uuid.UUID]:
        """Record these event ids; return the ones never processed before."""
        if not events:
            return set()
        statement = (
            insert(self.table)
            .values(
                [
                    {"consumer": self.consumer, "event_id": event_id, "event_type": event_type}
                    for event_id, event_type in events
                ]
            )
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return set((await conn.execute(statement)).scalars())

    async def purge(self, conn: AsyncConnection, older_than: timedelta) -> int:
        result = await conn.execute(
            self.table.delete().where(
                self.table.c.consumer == self.consumer,
                self.table.c.processed_at < func.now() - older_than,
            )
        )
        return int(result.rowcount or 0)
