"""Background jobs: bulk enrollment of a region, imports of learners from a file, and version
moves.

A job is planned by a use case (``start_bulk_enrollment``, ``start_import``,
``start_version_move``) and run by a worker of any replica, a chunk at a time. Each chunk is one
transaction: the rows it acts on, their per-row outcomes in ``job_rows``, their events in the
outbox, and the job's cursor, counters and lease. A process killed mid-chunk loses that chunk
only (rolled back); once its lease lapses, a worker (of the same process restarted, or another
replica) resumes after the last committed chunk, and nothing is done twice: a bulk chunk enrolls
with ``ON CONFLICT DO NOTHING`` on the one-active-enrollment index, an import row is marked done
in the transaction that registered its learner, and a cancelled job stops at its next chunk.

Bulk chunks are set-based for speed (ADR 4): one statement selects the next learners after
the cursor, enrolls them, writes their events and their row outcomes. Import chunks go row by
row through the ``ImportRows`` use case, which registers a learner only if nobody with the same
NIK, or else the same natural key, is known (ADR 21). A version move moves a chunk of learners
per transaction, each by the same use case as a single move, so that every rule and event is
the single move's; a learner who finished meanwhile is skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, null, or_, select, text, update
from sqlalchemy.exc import StatementError

from servicekit.clock import Clock
from servicekit.database import Database, Transaction
from servicekit.i18n import problem_detail, speaking
from servicekit.observability import (
    JOB_ITEMS_DONE,
    JOB_ITEMS_REMAINING,
    JOB_OLDEST_ACTIVE_AGE,
    JOBS_ACTIVE,
)
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.runner import Runner
from servicekit.service import Runtime

from .api.refusals import REFUSALS
from .dependencies import EnrollmentDependencies
from .domain import commands
from .domain.commands import MoveToVersion
from .domain.errors import DomainError
from .domain.identity import NaturalKey
from .domain.model import OPEN_JOB_STATES, JobKind, JobState, Outcome
from .events.outbound import BULK_ENROLL_CHUNK
from .settings import EnrollmentSettings
from .store.queries import bulk_learner_params, version_move_chunk
from .store.rows import bulk_from_params, move_from_params, registration_from_input
from .store.tables import job_rows, jobs
from .usecases import RowDone

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
ZERO = "00000000-0000-0000-0000-000000000000"
# Reported at every scrape, with zeros while none is active (an alert needs the series).
JOB_KINDS = tuple(JobKind)


async def claim_job(database: Database, lease: timedelta = LEASE) -> tuple[uuid.UUID, str] | None:
    """Take a pending job, or a running one whose worker stopped renewing its lease; its id
    and kind."""
    claimable = (
        select(jobs.c.job_id)
        .where(
            jobs.c.state.in_([s.value for s in OPEN_JOB_STATES]),
            or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < func.now()),
        )
        .order_by(jobs.c.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with database.transaction() as tx:
        claimed = (
            await tx.conn.execute(
                update(jobs)
                .where(jobs.c.job_id == claimable)
                .values(
                    state=JobState.RUNNING.value,
                    lease_until=func.now() + lease,
                    updated_at=func.now(),
                )
                .returning(jobs.c.job_id, jobs.c.kind)
            )
        ).first()
        return (claimed.job_id, claimed.kind) if claimed else None


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
        "job_id": str(job.job_id),
        "row_offset": job.done + job.skipped,
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
        job = await locked_job(tx, job_id)
        if job.state not in OPEN_JOB_STATES:
            return True
        result = (
            await conn.execute(text(BULK_ENROLL_CHUNK), chunk_params(job, chunk, clock()))
        ).one()
        if result.picked == 0:
            await finish(tx, job_id)
            return True
        if result.enrolled:
            await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        already = result.picked - result.enrolled
        await advance(
            tx,
            job,
            Counter({Outcome.ENROLLED: result.enrolled, Outcome.ALREADY_ENROLLED: already}),
            lease,
            done=result.enrolled,
            skipped=already,
            cursor={"v": result.last_village, "id": str(result.last_learner)},
        )
        return False


async def locked_job(tx: Transaction, job_id: uuid.UUID) -> Any:
    return (
        await tx.conn.execute(select(jobs).where(jobs.c.job_id == job_id).with_for_update())
    ).one()


async def finish(tx: Transaction, job_id: uuid.UUID) -> None:
    await tx.conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(state=JobState.COMPLETED.value, lease_until=None, updated_at=func.now())
    )


async def advance(
    tx: Transaction,
    job: Any,
    counted: Counter[Outcome],
    lease: timedelta,
    *,
    done: int,
    skipped: int = 0,
    failed: int = 0,
    cursor: dict[str, Any] | None = None,
) -> None:
    """The job's counters, cursor and lease after a chunk, in the chunk's transaction."""
    counts = Counter(job.counts) + Counter({k.value: n for k, n in counted.items()})
    await tx.conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job.job_id)
        .values(
            done=jobs.c.done + done,
            skipped=jobs.c.skipped + skipped,
            failed=jobs.c.failed + failed,
            counts=dict(counts),
            cursor=cursor if cursor is not None else job.cursor,
            lease_until=func.now() + lease,
            updated_at=func.now(),
        )
    )


async def run_import_chunk(
    runner: Runner[Any], job_id: uuid.UUID, chunk: int = 200, lease: timedelta = LEASE
) -> bool:
    """Import the next ``chunk`` pending rows, through the ``ImportRows`` use case, and
    record what became of each; True when finished."""
    async with runner.database.transaction() as tx:
        job = await locked_job(tx, job_id)
        if job.state not in OPEN_JOB_STATES:
            return True
        pending = (
            await tx.conn.execute(
                select(job_rows.c.row_number, job_rows.c.input)
                .where(job_rows.c.job_id == job_id, job_rows.c.outcome.is_(None))
                .order_by(job_rows.c.row_number)
                .limit(chunk)
            )
        ).all()
        if not pending:
            await finish(tx, job_id)
            return True
        people = tuple(registration_from_input(row.input) for row in pending)
        await lock_identities(tx, people)
        outcomes: list[RowDone] = await runner.apply(tx, import_rows(job, people))
        await record_rows(tx, job, [row.row_number for row in pending], outcomes)
        counted: Counter[Outcome] = Counter(done.outcome for done in outcomes)
        counted.update(done.enrollment for done in outcomes if done.enrollment is not None)
        await tx.conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        await advance(tx, job, counted, lease, done=len(pending))
        return False


def import_rows(job: Any, people: tuple[commands.RegisterLearner, ...]) -> commands.ImportRows:
    course_id = job.params.get("course_id")
    return commands.ImportRows(
        people, uuid.UUID(course_id) if course_id else None, job.params.get("cohort")
    )


async def lock_identities(tx: Transaction, people: tuple[commands.RegisterLearner, ...]) -> None:
    """Serialise the imports that describe the same people (a file uploaded twice at once):
    each identity's lock is taken in one global order, so two chunks never wait on each
    other in a circle, and held until the chunk commits."""
    keys = sorted(
        {identity_lock(f"nik:{p.nik_hash}") for p in people if p.nik_hash}
        | {
            identity_lock(str(NaturalKey.of(p.full_name, p.village_code, p.position)))
            for p in people
        }
    )
    await tx.conn.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


def identity_lock(identity: str) -> int:
    """The advisory lock of a person's identity: a digest, so that no name or NIK hash is
    ever a statement's parameter (which an error message would repeat in a log line)."""
    digest = hashlib.blake2b(identity.encode(), digest_size=8, person=b"lms-learner").digest()
    return int.from_bytes(digest, "big", signed=True)


def refusal_text(job: Any, refusal: Exception) -> tuple[str, str]:
    """A refused enrollment's column and reason, in the language of whoever uploaded."""
    problem = REFUSALS.problem(refusal)
    with speaking(job.params.get("language") or "id"):
        reason = problem_detail(problem.code, problem.detail, {})
    return ("course_id" if problem.errors is None else problem.errors[0]["field"]), reason


async def record_rows(
    tx: Transaction, job: Any, numbers: list[int], outcomes: list[RowDone]
) -> None:
    values = []
    for number, done in zip(numbers, outcomes, strict=True):
        field, reason = refusal_text(job, done.refusal) if done.refusal else (None, None)
        values.append(
            {
                "j": job.job_id,
                "n": number,
                "outcome": done.outcome.value,
                "enrollment": done.enrollment.value if done.enrollment else None,
                "learner_id": done.learner_id,
                "field": field,
                "reason": reason,
            }
        )
    await tx.conn.execute(
        update(job_rows)
        .where(job_rows.c.job_id == bindparam("j"), job_rows.c.row_number == bindparam("n"))
        .values(
            # the learner row holds them now: the upload's copy is not kept
            input=null(),
            outcome=bindparam("outcome"),
            enrollment=bindparam("enrollment"),
            learner_id=bindparam("learner_id"),
            field=bindparam("field"),
            reason=bindparam("reason"),
        ),
        values,
    )


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
                state=JobState.FAILED.value,
                error=error[:500],
                lease_until=None,
                updated_at=func.now(),
            )
        )


async def run_claimed(
    runtime: Runtime[EnrollmentSettings, EnrollmentDependencies], job_id: uuid.UUID, kind: str
) -> None:
    settings, lease = runtime.settings, timedelta(seconds=runtime.settings.job_lease_seconds)
    if kind == JobKind.LEARNER_IMPORT:
        while not await run_import_chunk(runtime.runner, job_id, settings.import_chunk_rows, lease):
            pass
        return
    if kind == JobKind.VERSION_MOVE:
        while not await run_move_chunk(runtime.runner, job_id, lease=lease):
            pass
        return
    while not await run_chunk(runtime.database, job_id, runtime.clock, lease=lease):
        pass


async def job_worker(runtime: Runtime[EnrollmentSettings, EnrollmentDependencies]) -> None:
    """Background worker of every replica: runs claimable jobs one at a time."""
    database = runtime.database
    lease = timedelta(seconds=runtime.settings.job_lease_seconds)
    while True:
        claimed = await claim_job(database, lease)
        if claimed is None:
            await asyncio.sleep(0.5)
            continue
        job_id, kind = claimed
        log.info("running %s job %s", kind, job_id)
        try:
            await run_claimed(runtime, job_id, kind)
        except StatementError as exc:
            # its message repeats the statement's parameters (names, phones): never logged
            log.error("%s job %s failed: %s", kind, job_id, type(exc.orig or exc).__name__)
            await fail_job(database, job_id, f"database error: {type(exc.orig or exc).__name__}")
        except Exception as exc:
            log.exception("%s job %s failed", kind, job_id)
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
