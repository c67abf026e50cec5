"""``lms enrollment ...``: bulk enrollment from the command line, with a progress bar."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from servicekit.clock import Clock
from servicekit.database import Database, make_engine
from servicekit.outbox import Outbox

from . import jobs
from .domain.model import BulkEnrollment, JobState, Position
from .main import dependencies
from .settings import EnrollmentSettings
from .store import queries
from .store.tables import jobs as jobs_table
from .store.tables import metadata
from .store.unit_of_work import SqlUnitOfWork

app = typer.Typer(no_args_is_help=True)


@app.command()
def bulk(
    course_id: Annotated[uuid.UUID, typer.Option(help="a published course")],
    region: Annotated[str, typer.Option(help="region code prefix, e.g. 74 or 74.01")],
    position: Annotated[list[Position] | None, typer.Option(help="repeat for several")] = None,
    cohort: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Enroll every learner of a region (and positions) in a course; resumable, never twice.

    The job runs here, in this process; the service's outbox relay publishes its events.
    """
    asyncio.run(_bulk(course_id, region, tuple(position or ()), cohort))


async def _bulk(
    course_id: uuid.UUID, region: str, positions: tuple[Position, ...], cohort: str | None
) -> None:
    settings = EnrollmentSettings()
    clock = dependencies(settings).clock
    engine = make_engine(settings.database_url, pool_size=2)
    database = Database(engine, Outbox(metadata.tables["outbox"]))
    try:
        job_id, total = await _plan(database, clock, course_id, region, positions, cohort)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as progress:
            task = progress.add_task(f"job {job_id}", total=total)

            async def advance() -> None:
                async with database.read() as conn:
                    row = await queries.job(conn, job_id)
                assert row is not None
                progress.update(task, completed=row.done + row.skipped)

            await jobs.run_job(database, job_id, clock, on_progress=advance)
            await advance()
        async with database.read() as conn:
            row = await queries.job(conn, job_id)
        assert row is not None
        typer.echo(f"{row.state}: {row.done} enrolled, {row.skipped} already enrolled")
    finally:
        await engine.dispose()


async def _plan(
    database: Database,
    clock: Clock,
    course_id: uuid.UUID,
    region: str,
    positions: tuple[Position, ...],
    cohort: str | None,
) -> tuple[uuid.UUID, int]:
    """The job, already held by this process so that no worker of the service takes it."""
    async with database.transaction() as tx:
        uow = SqlUnitOfWork(tx, clock)
        course = await uow.latest_course(course_id)
        if course is None:
            raise typer.BadParameter("no published course has this id", param_hint="--course-id")
        plan = BulkEnrollment(
            course.course_id, course.version, course.title, region, positions, cohort
        )
        total = await uow.count_bulk_learners(plan)
        job_id = uuid.uuid4()
        await uow.add_bulk_job(job_id, plan, total, "cli")
        await tx.conn.execute(
            jobs_table.update()
            .where(jobs_table.c.job_id == job_id)
            .values(state=JobState.RUNNING, lease_until=clock() + jobs.LEASE)
        )
    return job_id, total
