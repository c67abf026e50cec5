"""Bulk enrollment jobs: every learner of a region (and positions) into one course.

A job (planned by ``usecases.start_bulk_enrollment``) is run set-based for speed: each chunk
selects the next learners after the job's cursor, inserts their enrollments with ``ON CONFLICT
DO NOTHING`` on the one-active-enrollment index (so nobody is ever enrolled twice), writes their
events to the outbox, and advances the cursor and counters, all in one transaction. A crash
loses at most the chunk in flight, which is rolled back; the job's lease then expires and any
replica resumes it from the cursor.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update

from servicekit.clock import Clock
from servicekit.database import Database
from servicekit.observability import (
    JOB_ITEMS_DONE,
    JOB_ITEMS_REMAINING,
    JOB_OLDEST_ACTIVE_AGE,
    JOBS_ACTIVE,
)
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.service import Runtime

from .dependencies import EnrollmentDependencies
from .domain.model import JobState
from .events.outbound import BULK_ENROLL_CHUNK
from .settings import EnrollmentSettings
from .store.queries import bulk_learner_params
from .store.rows import bulk_from_params
from .store.tables import jobs

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
ZERO = "00000000-0000-0000-0000-000000000000"
# Reported at every scrape, with zeros while none is active (an alert needs the series).
JOB_KINDS = ("bulk_enrollment",)


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


def chunk_params(job: Any, chunk: int, now: datetime) -> dict[str, Any]:
    """The parameters of ``BULK_ENROLL_CHUNK`` for the next ``chunk`` learners of ``job``."""
    bulk = bulk_from_params(job.params)
    cursor = job.cursor or {"v": "", "id": ZERO}
    return bulk_learner_params(bulk) | {
        "after_village": cursor["v"],
        "after_learner": cursor["id"],
        "chunk": chunk,
        "course_id": str(bulk.course_id),
        "course_version": bulk.course_version,
        "course_title": bulk.course_title,
        "cohort": bulk.cohort,
        "now": now,
        "now_text": now.isoformat(),
    }


async def run_chunk(
    database: Database,
    job_id: uuid.UUID,
    clock: Clock,
    chunk: int = 10000,
    lease: timedelta = LEASE,
) -> bool:
    """Enroll the next chunk (and write their events) in one statement; True when finished."""
    async with database.transaction() as tx:
        conn = tx.conn
        job = (
            await conn.execute(select(jobs).where(jobs.c.job_id == job_id).with_for_update())
        ).one()
        if job.state not in (JobState.RUNNING, JobState.PENDING):
            return True
        result = (
            await conn.execute(text(BULK_ENROLL_CHUNK), chunk_params(job, chunk, clock()))
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
    database: Database,
    job_id: uuid.UUID,
    clock: Clock,
    on_progress: Callable[[], Any] | None = None,
) -> None:
    while not await run_chunk(database, job_id, clock):
        if on_progress is not None:
            await on_progress()


async def fail_job(database: Database, job_id: uuid.UUID, error: str) -> None:
    async with database.transaction() as tx:
        await tx.conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(
                state=JobState.FAILED,
                error=error[:500],
                lease_until=None,
                updated_at=func.now(),
            )
        )


async def bulk_worker(runtime: Runtime[EnrollmentSettings, EnrollmentDependencies]) -> None:
    """Background worker of every replica: runs claimable jobs one at a time."""
    database = runtime.database
    while True:
        job_id = await claim_job(database)
        if job_id is None:
            await asyncio.sleep(0.5)
            continue
        log.info("running bulk enrollment job %s", job_id)
        try:
            await run_job(database, job_id, runtime.clock)
        except Exception as exc:
            log.exception("bulk enrollment job %s failed", job_id)
            await fail_job(database, job_id, str(exc))


async def measure_jobs(runtime: Runtime[EnrollmentSettings, EnrollmentDependencies]) -> None:
    """The progress of the jobs still to finish, for /metrics: how many, items left and done,
    the oldest one's age (a job that stops progressing shows as an age that keeps growing)."""
    active = jobs.c.state.in_([JobState.PENDING, JobState.RUNNING])
    query = (
        select(
            jobs.c.kind,
            func.count(),
            func.sum(jobs.c.total - jobs.c.done - jobs.c.skipped - jobs.c.failed),
            func.sum(jobs.c.done),
            func.extract("epoch", func.now() - func.min(jobs.c.created_at)),
        )
        .where(active)
        .group_by(jobs.c.kind)
    )
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    found = {row[0]: row for row in rows}
    for kind in {*JOB_KINDS, *found}:
        row = found.get(kind)
        count, remaining, done, age = row[1:] if row is not None else (0, 0, 0, 0)
        JOBS_ACTIVE.labels(kind).set(count)
        JOB_ITEMS_REMAINING.labels(kind).set(max(0, int(remaining or 0)))
        JOB_ITEMS_DONE.labels(kind).set(int(done or 0))
        JOB_OLDEST_ACTIVE_AGE.labels(kind).set(float(age or 0))
