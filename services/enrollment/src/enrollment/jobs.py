"""Bulk enrollment jobs: every learner of a region (and positions) into one course.

A job is set-based for speed: each chunk selects the next learners after the job's cursor,
inserts their enrollments with ``ON CONFLICT DO NOTHING`` on the one-active-enrollment index
(so nobody is ever enrolled twice), writes their events to the outbox, and advances the cursor
and counters, all in one transaction. A crash loses at most the chunk in flight, which is
rolled back; the job's lease then expires and any replica resumes it from the cursor.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.database import Database
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.service import Runtime

from .domain.model import Position
from .events.outbound import BULK_ENROLL_CHUNK, BULK_LEARNERS
from .store.tables import jobs

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
ZERO = "00000000-0000-0000-0000-000000000000"


def lease_from_now(lease: timedelta = LEASE) -> datetime:
    return datetime.now(UTC) + lease


class JobState:
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class BulkEnrollment:
    course_id: uuid.UUID
    course_version: int
    course_title: str
    region_code: str
    positions: tuple[Position, ...]
    cohort: str | None

    def to_params(self) -> dict[str, Any]:
        return {
            "course_id": str(self.course_id),
            "course_version": self.course_version,
            "course_title": self.course_title,
            "region_code": self.region_code,
            "positions": [p.value for p in self.positions],
            "cohort": self.cohort,
        }

    def learner_filter(self) -> dict[str, Any]:
        return {"prefix": self.region_code + "%", "positions": [p.value for p in self.positions]}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BulkEnrollment:
        return cls(
            uuid.UUID(params["course_id"]),
            params["course_version"],
            params["course_title"],
            params["region_code"],
            tuple(Position(p) for p in params["positions"]),
            params.get("cohort"),
        )


async def count_matching(conn: AsyncConnection, bulk: BulkEnrollment) -> int:
    total = await conn.execute(
        text(f"SELECT count(*) FROM learners WHERE {BULK_LEARNERS}"), bulk.learner_filter()
    )
    return int(total.scalar_one())


async def create_job(
    conn: AsyncConnection, bulk: BulkEnrollment, total: int, created_by: str
) -> uuid.UUID:
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    await conn.execute(
        jobs.insert().values(
            job_id=job_id,
            kind="bulk_enrollment",
            params=bulk.to_params(),
            state=JobState.PENDING,
            total=total,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
    )
    await conn.execute(text("SELECT pg_notify('lms_jobs', '')"))
    return job_id


async def claim_job(database: Database, lease: timedelta = LEASE) -> uuid.UUID | None:
    """Take a pending job, or a running one whose worker stopped renewing its lease."""
    claimable = (
        select(jobs.c.job_id)
        .where(
            jobs.c.state.in_([JobState.PENDING, JobState.RUNNING]),
            or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < func.now()),
        )
        .order_by(jobs.c.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with database.transaction() as tx:
        return (
            await tx.conn.execute(
                update(jobs)
                .where(jobs.c.job_id == claimable)
                .values(
                    state=JobState.RUNNING, lease_until=func.now() + lease, updated_at=func.now()
                )
                .returning(jobs.c.job_id)
            )
        ).scalar_one_or_none()


async def run_chunk(
    database: Database, job_id: uuid.UUID, chunk: int = 10000, lease: timedelta = LEASE
) -> bool:
    """Enroll the next chunk (and write their events) in one statement; True when finished."""
    async with database.transaction() as tx:
        conn = tx.conn
        job = (
            await conn.execute(select(jobs).where(jobs.c.job_id == job_id).with_for_update())
        ).one()
        if job.state not in (JobState.RUNNING, JobState.PENDING):
            return True
        bulk = BulkEnrollment.from_params(job.params)
        cursor = job.cursor or {"v": "", "id": ZERO}
        now = datetime.now(UTC)
        result = (
            await conn.execute(
                text(BULK_ENROLL_CHUNK),
                bulk.learner_filter()
                | {
                    "after_village": cursor["v"],
                    "after_learner": cursor["id"],
                    "chunk": chunk,
                    "course_id": str(bulk.course_id),
                    "course_version": bulk.course_version,
                    "course_title": bulk.course_title,
                    "cohort": bulk.cohort,
                    "now": now,
                    "now_text": now.isoformat(),
                },
            )
        ).one()
        if result.picked == 0:
            await conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id)
                .values(state=JobState.COMPLETED, lease_until=None, updated_at=func.now())
            )
            return True
        if result.enrolled:
            await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(
                done=jobs.c.done + result.enrolled,
                skipped=jobs.c.skipped + result.picked - result.enrolled,
                cursor={"v": result.last_village, "id": str(result.last_learner)},
                lease_until=func.now() + lease,
                updated_at=func.now(),
            )
        )
        return False


async def run_job(
    database: Database, job_id: uuid.UUID, on_progress: Callable[[], Any] | None = None
) -> None:
    while not await run_chunk(database, job_id):
        if on_progress is not None:
            await on_progress()


async def bulk_worker(runtime: Runtime) -> None:
    """Background worker of every replica: runs claimable jobs one at a time."""
    database = runtime.database
    while True:
        job_id = await claim_job(database)
        if job_id is None:
            await asyncio.sleep(0.5)
            continue
        log.info("running bulk enrollment job %s", job_id)
        try:
            await run_job(database, job_id)
        except Exception as exc:
            log.exception("bulk enrollment job %s failed", job_id)
            async with database.transaction() as tx:
                await tx.conn.execute(
                    update(jobs)
                    .where(jobs.c.job_id == job_id)
                    .values(
                        state=JobState.FAILED,
                        error=str(exc)[:500],
                        lease_until=None,
                        updated_at=func.now(),
                    )
                )
