"""``lms enrollment ...``: bulk enrollment from the command line, with a progress bar."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from servicekit.database import Database, make_engine
from servicekit.outbox import Outbox

from . import jobs
from .domain.model import Position
from .settings import EnrollmentSettings
from .store.repository import SqlUnitOfWork
from .store.tables import jobs as jobs_table
from .store.tables import metadata

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
    engine = make_engine(settings.database_url, pool_size=2)
    database = Database(engine, Outbox(metadata.tables["outbox"]))
    try:
        async with database.transaction() as tx:
            course = await SqlUnitOfWork(tx).latest_course(course_id)
            if course is None:
                raise typer.BadParameter(
                    "no published course has this id", param_hint="--course-id"
                )
            plan = jobs.BulkEnrollment(
                course.course_id, course.version, course.title, region, positions, cohort
            )
            total = await jobs.count_matching(tx.conn, plan)
            job_id = await jobs.create_job(tx.conn, plan, total, "cli")
            await tx.conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id)
                .values(state=jobs.JobState.RUNNING, lease_until=jobs.lease_from_now())
            )
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
                    row = (
                        await conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))
                    ).one()
                progress.update(task, completed=row.done + row.skipped)

            await jobs.run_job(database, job_id, on_progress=advance)
            await advance()
        async with database.read() as conn:
            row = (
                await conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))
            ).one()
        typer.echo(f"{row.state}: {row.done} enrolled, {row.skipped} already enrolled")
    finally:
        await engine.dispose()
