"""Reminders for inactive learners and the supervisors' weekly digest, run once per period.

Each run is a row of ``schedule_runs`` keyed by (kind, period). The replica whose insert wins
runs it; the row's lease and cursor let another replica resume a run whose replica died, and
the cursor is read and advanced under the row's lock, so two replicas never process the same
chunk. Every reminder's event id is derived from (period, learner), so even a re-run cannot
write a second reminder for the same period: at most one per learner per period, across
restarts and replicas.

Activity is known from the learner events this service consumes (enrolled, lesson-completed,
passed, failed, course-completed), so a learner who keeps studying is not reminded. See the
README.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit import regions
from servicekit.database import Transaction
from servicekit.service import Runtime

from .dependencies import NotificationDependencies
from .domain import commands
from .domain.model import Kind, Notification
from .domain.policy import digest_period, reminder_period
from .settings import NotificationSettings
from .store.tables import enrollments, learners, preferences, schedule_runs

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6b1f7c2e-3f59-4d55-9a43-2f0c6a1d9e10")
LEASE = timedelta(minutes=5)
REMINDERS, DIGEST = "reminders", "digest"


def scheduled_event_id(kind: str, period: str, key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}:{period}:{key}")


class Scheduler:
    """Writes its messages through the runtime's use cases, on the runtime's clock."""

    def __init__(self, runtime: Runtime[NotificationSettings, NotificationDependencies]) -> None:
        self.database = runtime.database
        self.runner = runtime.runner
        self.settings = runtime.settings
        self.clock = runtime.clock

    async def run_once(self) -> dict[str, int]:
        """Run whatever is due now and not yet done; returns items written per run."""
        now = self.clock()
        done: dict[str, int] = {}
        period = reminder_period(now, self.settings.reminder_period_days)
        if await self._claim(REMINDERS, period, now):
            done[f"{REMINDERS}/{period}"] = await self._reminders(period, now)
        week = digest_period(now)
        if await self._claim(DIGEST, week, now):
            done[f"{DIGEST}/{week}"] = await self._digest(week, now)
        return done

    async def _claim(self, kind: str, period: str, now: datetime) -> bool:
        async with self.database.transaction() as tx:
            inserted = await tx.conn.execute(
                insert(schedule_runs)
                .values(
                    kind=kind,
                    period=period,
                    state="running",
                    lease_until=now + LEASE,
                    started_at=now,
                )
                .on_conflict_do_nothing()
                .returning(schedule_runs.c.kind)
            )
            if inserted.first() is not None:
                return True
            abandoned = await tx.conn.execute(
                update(schedule_runs)
                .where(
                    schedule_runs.c.kind == kind,
                    schedule_runs.c.period == period,
                    schedule_runs.c.state == "running",
                    schedule_runs.c.lease_until < now,
                )
                .values(lease_until=now + LEASE)
                .returning(schedule_runs.c.kind)
            )
            return abandoned.first() is not None

    async def _lock_run(self, conn: AsyncConnection, kind: str, period: str) -> Any:
        return (
            await conn.execute(
                select(schedule_runs)
                .where(schedule_runs.c.kind == kind, schedule_runs.c.period == period)
                .with_for_update()
            )
        ).one()

    async def _finish(self, conn: AsyncConnection, kind: str, period: str, now: datetime) -> None:
        await conn.execute(
            update(schedule_runs)
            .where(schedule_runs.c.kind == kind, schedule_runs.c.period == period)
            .values(state="done", finished_at=now, lease_until=None)
        )

    # reminders
    async def _reminders(self, period: str, now: datetime) -> int:
        written = 0
        while True:
            async with self.database.transaction() as tx:
                run = await self._lock_run(tx.conn, REMINDERS, period)
                if run.state == "done":
                    return written
                after = uuid.UUID(run.cursor["learner_id"]) if run.cursor else None
                rows = await self._inactive_learners(tx.conn, now, after)
                if not rows:
                    await self._finish(tx.conn, REMINDERS, period, now)
                    return written
                for row in rows:
                    written += await self._remind(tx, row, period, now)
                await tx.conn.execute(
                    update(schedule_runs)
                    .where(schedule_runs.c.kind == REMINDERS, schedule_runs.c.period == period)
                    .values(
                        cursor={"learner_id": str(rows[-1].learner_id)},
                        items=schedule_runs.c["items"] + len(rows),
                        lease_until=now + LEASE,
                    )
                )

    async def _inactive_learners(
        self, conn: AsyncConnection, now: datetime, after: uuid.UUID | None
    ) -> list[Any]:
        since = now - timedelta(days=self.settings.reminder_inactive_days)
        titles = (
            select(func.array_agg(enrollments.c.course_title.distinct()))
            .where(
                enrollments.c.learner_id == learners.c.learner_id, enrollments.c.state == "active"
            )
            .scalar_subquery()
        )
        query = (
            select(
                learners.c.learner_id,
                learners.c.village_code,
                learners.c.last_activity_at,
                titles.label("course_titles"),
            )
            .outerjoin(preferences, preferences.c.learner_id == learners.c.learner_id)
            .where(
                learners.c.last_activity_at < since,
                func.coalesce(preferences.c.reminders, True),
                select(enrollments.c.enrollment_id)
                .where(
                    enrollments.c.learner_id == learners.c.learner_id,
                    enrollments.c.state == "active",
                )
                .exists(),
            )
            .order_by(learners.c.learner_id)
            .limit(self.settings.schedule_chunk_size)
        )
        if after is not None:
            query = query.where(learners.c.learner_id > after)
        return list((await conn.execute(query)).all())

    async def _remind(self, tx: Transaction, row: Any, period: str, now: datetime) -> int:
        notification = Notification(
            event_id=scheduled_event_id(REMINDERS, period, str(row.learner_id)),
            event_type="notification.reminder",
            kind=Kind.REMINDER,
            learner_id=row.learner_id,
            occurred_at=now,
            context={
                "zone": regions.timezone_of(row.village_code),
                "inactive_days": (now - row.last_activity_at).days,
                "course_titles": sorted(row.course_titles or []),
            },
        )
        written = await self.runner.apply(tx, commands.Notify(notification, row.village_code))
        return 1 if written else 0

    # the supervisors' digest
    async def _digest(self, week: str, now: datetime) -> int:
        async with self.database.transaction() as tx:
            run = await self._lock_run(tx.conn, DIGEST, week)
            if run.state == "done":
                return 0
            written = 0
            for width in (2, 5, 8):  # province PP, regency PP.KK, district PP.KK.CC
                for region_code, rows in (
                    await self._inactive_by_region(tx.conn, now, width)
                ).items():
                    written += await self._post_digest(tx, week, region_code, rows)
            await self._finish(tx.conn, DIGEST, week, now)
            return written

    async def _inactive_by_region(
        self, conn: AsyncConnection, now: datetime, width: int
    ) -> dict[str, list[Any]]:
        since = now - timedelta(days=self.settings.digest_inactive_days)
        region = func.substr(learners.c.village_code, 1, width)
        inactive = (
            select(
                region.label("region_code"),
                learners.c.full_name,
                learners.c.village_code,
                learners.c.last_activity_at,
                func.count().over(partition_by=region).label("inactive_count"),
                func.row_number()
                .over(
                    partition_by=region,
                    order_by=(learners.c.last_activity_at, learners.c.learner_id),
                )
                .label("rank"),
            )
            .where(
                learners.c.last_activity_at < since,
                select(enrollments.c.enrollment_id)
                .where(
                    enrollments.c.learner_id == learners.c.learner_id,
                    enrollments.c.state == "active",
                )
                .exists(),
            )
            .subquery()
        )
        limit = max(self.settings.digest_max_names, 1)
        rows = (
            await conn.execute(
                select(inactive)
                .where(inactive.c.rank <= limit)
                .order_by(inactive.c.region_code, inactive.c.rank)
            )
        ).all()
        grouped: dict[str, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row.region_code, []).append(row)
        return grouped

    async def _post_digest(
        self, tx: Transaction, week: str, region_code: str, rows: list[Any]
    ) -> int:
        region = regions.find(region_code)
        names = rows[: self.settings.digest_max_names]
        context = {
            "period": week,
            "region_code": region_code,
            "region_name": region.name if region else region_code,
            "zone": regions.timezone_of(rows[0].village_code),
            "inactive_count": rows[0].inactive_count,
            "inactive_days": self.settings.digest_inactive_days,
            "learners": [
                {
                    "full_name": r.full_name or "(tanpa nama)",
                    "village_code": r.village_code,
                    "last_activity_at": r.last_activity_at,
                }
                for r in names
            ],
        }
        digest = commands.PostDigest(
            scheduled_event_id(DIGEST, week, region_code), region_code, context
        )
        return 1 if await self.runner.apply(tx, digest) else 0

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                done = await self.run_once()
                if done:
                    log.info("scheduled runs finished: %s", done)
            except Exception:
                log.exception("scheduled run failed; trying again later")
            await asyncio.sleep(self.settings.scheduler_poll_seconds)


async def scheduler_worker(
    runtime: Runtime[NotificationSettings, NotificationDependencies],
) -> None:
    await Scheduler(runtime).run(runtime.stopping)
