"""Idempotent consumption: an event id is recorded in the transaction that applies it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Table, Text, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
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
        # one statement with two array parameters, whatever the batch size (a multi-row
        # VALUES list costs far more to build and to plan for large batches)
        rows = await conn.execute(
            text(
                f'INSERT INTO "{self.table.name}" (consumer, event_id, event_type) '
                "SELECT :consumer, e.id, e.type FROM unnest(:ids, :types) AS e(id, type) "
                "ON CONFLICT DO NOTHING RETURNING event_id"
            ).bindparams(
                bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
                bindparam("types", type_=ARRAY(Text)),
            ),
            {
                "consumer": self.consumer,
                "ids": [event_id for event_id, _ in events],
                "types": [event_type for _, event_type in events],
            },
        )
        return set(rows.scalars())

    async def purge(self, conn: AsyncConnection, older_than: timedelta) -> int:
        result = await conn.execute(
            self.table.delete().where(
                self.table.c.consumer == self.consumer,
                self.table.c.processed_at < func.now() - older_than,
            )
        )
        return int(result.rowcount or 0)
