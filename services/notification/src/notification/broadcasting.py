"""The coaching job: sends each recipient of a broadcast its message, rate-limited.

A chunk of pending recipients is claimed (``FOR UPDATE SKIP LOCKED``, so replicas share the
work), each one's message written through the ``Notify`` use case (inbox, and a pending
delivery per channel the learner wants and can be reached on; the delivery worker respects
quiet hours), and the recipients marked sent, all in one transaction. A replica that dies
mid-chunk loses the whole chunk's transaction, and the next claim takes it again; a message's
event id is derived from (broadcast, learner), so the inbox and delivery keys make even a
repeated chunk one message per learner and channel.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit import regions
from servicekit.service import Runtime

from .dependencies import NotificationDependencies
from .domain import commands
from .domain.model import Kind, Notification
from .settings import NotificationSettings
from .store.tables import broadcast_recipients, broadcasts, learners

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("0c7d1f4e-5b8a-4f0e-9d62-3a1e8b7c5d40")
EVENT_TYPE = "notification.coaching"


def message_event_id(broadcast_id: uuid.UUID, learner_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{broadcast_id}:{learner_id}")


class Broadcaster:
    def __init__(self, runtime: Runtime[NotificationSettings, NotificationDependencies]) -> None:
        self.database = runtime.database
        self.runner = runtime.runner
        self.settings = runtime.settings
        self.clock = runtime.clock

    async def run_once(self) -> int:
        """Send one chunk; returns how many learners it reached."""
        now = self.clock()
        async with self.database.transaction() as tx:
            rows = await self._claim(tx.conn)
            for row in rows:
                await self.runner.apply(tx, self._notify(row, now))
            if rows:
                await self._mark_sent(tx.conn, rows, now)
            await self._finish(tx.conn, now)
        return len(rows)

    async def _claim(self, conn: AsyncConnection) -> list[Any]:
        query = (
            select(
                broadcast_recipients.c.broadcast_id,
                broadcast_recipients.c.learner_id,
                broadcasts.c.title,
                broadcasts.c.body,
                broadcasts.c.region_code,
                learners.c.village_code,
            )
            .join(broadcasts, broadcasts.c.broadcast_id == broadcast_recipients.c.broadcast_id)
            .join(learners, learners.c.learner_id == broadcast_recipients.c.learner_id)
            .where(broadcasts.c.state == "running", broadcast_recipients.c.sent_at.is_(None))
            .order_by(broadcasts.c.created_at, broadcast_recipients.c.learner_id)
            .limit(self.settings.broadcast_batch_size)
            .with_for_update(of=broadcast_recipients, skip_locked=True)
        )
        return list((await conn.execute(query)).all())

    def _notify(self, row: Any, now: datetime) -> commands.Notify:
        region = regions.find(row.region_code)
        notification = Notification(
            event_id=message_event_id(row.broadcast_id, row.learner_id),
            event_type=EVENT_TYPE,
            kind=Kind.COACHING,
            learner_id=row.learner_id,
            occurred_at=now,
            context={
                "title": row.title,
                "body": row.body,
                "region_name": region.name if region else row.region_code,
            },
        )
        return commands.Notify(notification, row.village_code)

    async def _mark_sent(self, conn: AsyncConnection, rows: list[Any], now: datetime) -> None:
        keys = [(r.broadcast_id, r.learner_id) for r in rows]
        await conn.execute(
            update(broadcast_recipients)
            .where(
                tuple_(broadcast_recipients.c.broadcast_id, broadcast_recipients.c.learner_id).in_(
                    keys
                )
            )
            .values(sent_at=now)
        )
        counts: dict[uuid.UUID, int] = {}
        for broadcast_id, _ in keys:
            counts[broadcast_id] = counts.get(broadcast_id, 0) + 1
        for broadcast_id, sent in counts.items():
            await conn.execute(
                update(broadcasts)
                .where(broadcasts.c.broadcast_id == broadcast_id)
                .values(sent=broadcasts.c.sent + sent)
            )

    async def _finish(self, conn: AsyncConnection, now: datetime) -> None:
        pending = (
            select(broadcast_recipients.c.learner_id)
            .where(
                and_(
                    broadcast_recipients.c.broadcast_id == broadcasts.c.broadcast_id,
                    broadcast_recipients.c.sent_at.is_(None),
                )
            )
            .exists()
        )
        await conn.execute(
            update(broadcasts)
            .where(broadcasts.c.state == "running", ~pending)
            .values(state="done", finished_at=func.coalesce(broadcasts.c.finished_at, now))
        )

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("coaching messages failed; trying again later")
                sent = 0
            # the pace: at most broadcast_per_second learners a second per replica
            pause = sent / self.settings.broadcast_per_second
            await asyncio.sleep(pause if sent else self.settings.broadcast_poll_seconds)


async def broadcast_worker(
    runtime: Runtime[NotificationSettings, NotificationDependencies],
) -> None:
    await Broadcaster(runtime).run(runtime.stopping)
