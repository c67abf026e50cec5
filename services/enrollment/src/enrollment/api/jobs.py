"""Jobs (bulk enrollments, imports): listed, followed, cancelled, and their row outcomes as
CSV. Admins see every job, supervisors the jobs acting within their region; a job outside
the caller's view answers 404, as if it did not exist."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Row

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.cells import inert
from servicekit.fields import Line
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem

from ..domain import commands
from ..domain.model import JobKind, JobState
from ..store import queries
from .dependencies import UseCases
from .schemas import JobOut
from .views import job_out

router = APIRouter(prefix="/v1", tags=["jobs"])
CSV_COLUMNS = (
    "row",
    "outcome",
    "enrollment",
    "learner_id",
    "full_name",
    "village_code",
    "position",
    "column",
    "reason",
)


async def visible_job(runner: UseCases, job_id: uuid.UUID, principal: Principal) -> Row[Any]:
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    async with runner.read() as conn:
        row = await queries.job(conn, job_id)
    if row is None or not in_view(principal, row.region_code):
        raise Problem(404, "job_not_found", "no job with this id is visible to you")
    return row


def in_view(principal: Principal, region_code: str) -> bool:
    """A national job (``""``) is the admins' alone."""
    return principal.has(Role.ADMIN) or (region_code != "" and principal.covers_region(region_code))


@router.get("/jobs", response_model=Page[JobOut])
async def list_jobs(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    kind: JobKind | None = None,
    state: JobState | None = None,
    created_by: Annotated[Line | None, Query(max_length=255)] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[JobOut]:
    """The jobs acting within the caller's region, newest first."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    before = cursors.decode("jobs", cursor, "at", "id")
    async with runner.read() as conn:
        found = await queries.jobs_page(
            conn,
            region_code=principal.region_in_view or "",
            kind=kind.value if kind else None,
            state=state.value if state else None,
            created_by=created_by,
            before=(datetime.fromisoformat(before["at"]), uuid.UUID(before["id"]))
            if before
            else None,
            limit=limit,
        )
    last = found[limit - 1] if len(found) > limit else None
    next_cursor = (
        cursors.encode("jobs", at=last.created_at.isoformat(), id=str(last.job_id))
        if last
        else None
    )
    return Page(items=[job_out(row) for row in found[:limit]], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases) -> JobOut:
    return job_out(await visible_job(runner, job_id, principal))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
async def cancel_job(job_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases) -> JobOut:
    """Stop a pending or running job after its chunk in flight: what it did stays done, the
    rows it did not reach are reported as cancelled; 409 for a job already finished."""
    await visible_job(runner, job_id, principal)
    await runner.execute(commands.CancelJob(job_id))
    return job_out(await visible_job(runner, job_id, principal))


def cell(value: object) -> str:
    return inert("" if value is None else str(value))


async def outcome_lines(runner: UseCases, job: Row[Any]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    cancelled = job.state == JobState.CANCELLED
    async with runner.read() as conn:
        async for row in queries.job_outcomes(conn, job.job_id):
            outcome = row.outcome or ("cancelled" if cancelled else "pending")
            writer.writerow(
                [
                    cell(v)
                    for v in (
                        row.row_number,
                        outcome,
                        row.enrollment,
                        row.learner_id,
                        row.full_name,
                        row.village_code,
                        row.position,
                        row.field,
                        row.reason,
                    )
                ]
            )
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/jobs/{job_id}/rows.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one line per row"}},
)
async def job_rows_csv(
    job_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> StreamingResponse:
    """What the job did with each row: registered, already registered, enrolled, already
    enrolled, not enrolled or skipped, with the column and reason of each refusal."""
    job = await visible_job(runner, job_id, principal)
    return StreamingResponse(
        outcome_lines(runner, job),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}.csv"'},
    )
