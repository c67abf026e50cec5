"""Background jobs: bulk enrollment and version moves, resumable by any replica.

A bulk enrollment (every learner of a region, and positions, into one course; planned by
``usecases.start_bulk_enrollment``) is run set-based for speed: each chunk
selects the next learners after the job's cursor, inserts their enrollments with ``ON CONFLICT
DO NOTHING`` on the one-active-enrollment index (so nobody is ever enrolled twice), writes their
events to the outbox, and advances the cursor and counters, all in one transaction. A crash
loses at most the chunk in flight, which is rolled back; the job's lease then expires and any
replica resumes it from the cursor.

A version move (``usecases.start_version_move``) moves a chunk of learners per transaction,
each by the same use case as a single move, so that every rule and event is the single
move's; a learner who finished meanwhile is skipped.
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
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.runner import Runner
from servicekit.service import Runtime

from .dependencies import EnrollmentDependencies
from .domain.commands import MoveToVersion
from .domain.errors import DomainError
from .domain.model import JobKind, JobState
from .events.outbound import BULK_ENROLL_CHUNK
from .settings import EnrollmentSettings
from .store.queries import bulk_learner_params, version_move_chunk
from .store.rows import bulk_from_params, move_from_params
from .store.tables import jobs

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
ZERO = "00000000-0000-0000-0000-000000000000"


async def claim_job(database: Database, lease: timedelta = LEASE) -> tuple[uuid.UUID, str] | None:
    """Take a pending job, or a running one whose worker stopped renewing its lease; its id
    and kind."""
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
        row = (
            await tx.conn.execute(
                update(jobs)
                .where(jobs.c.job_id == claimable)
                .values(
                    state=JobState.RUNNING, lease_until=func.now() + lease, updated_at=func.now()
                )
                .returning(jobs.c.job_id, jobs.c.kind)
            )
        ).first()
    return (row.job_id, row.kind) if row else None


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


async def run_move_chunk(
    runner: Runner[Any], job_id: uuid.UUID, chunk: int = 500, lease: timedelta = LEASE
) -> bool:
    """Move the next chunk of a version-move job's learners in one transaction; True when
    finished."""
    async with runner.database.transaction() as tx:
        conn = tx.conn
        job = (
            await conn.execute(select(jobs).where(jobs.c.job_id == job_id).with_for_update())
        ).one()
        if job.state not in (JobState.RUNNING, JobState.PENDING):
            return True
        move = move_from_params(job.params)
        after = uuid.UUID((job.cursor or {}).get("id", ZERO))
        picked = await version_move_chunk(conn, move, after, chunk)
        if not picked:
            await conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id)
                .values(state=JobState.COMPLETED, lease_until=None, updated_at=func.now())
            )
            return True
        moved = 0
        for row in picked:
            try:
                await runner.apply(
                    tx, MoveToVersion(row.learner_id, move.course_id, move.course_version)
                )
            except DomainError:
                continue  # finished or withdrawn since the chunk was read: not moved
            moved += 1
        await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(
                done=jobs.c.done + moved,
                skipped=jobs.c.skipped + len(picked) - moved,
                cursor={"id": str(picked[-1].enrollment_id)},
                lease_until=func.now() + lease,
                updated_at=func.now(),
            )
        )
        return False


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
        claimed = await claim_job(database)
        if claimed is None:
            await asyncio.sleep(0.5)
            continue
        job_id, kind = claimed
        log.info("running %s job %s", kind, job_id)
        try:
            if kind == JobKind.VERSION_MOVE:
                while not await run_move_chunk(runtime.runner, job_id):
                    pass
            else:
                await run_job(database, job_id, runtime.clock)
        except Exception as exc:
            log.exception("%s job %s failed", kind, job_id)
            await fail_job(database, job_id, str(exc))
