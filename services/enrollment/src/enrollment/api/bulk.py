"""Bulk operations: enroll a whole region as a background job, import learners from CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from servicekit.auth import CurrentPrincipal, Role
from servicekit.problems import Problem, field_problem
from servicekit.ratelimit import RateLimit
from servicekit.service import RuntimeDep

from .. import jobs, usecases
from ..domain import commands
from ..domain.errors import AlreadyEnrolled, DomainError
from ..domain.model import Position
from ..settings import EnrollmentSettings
from ..store.repository import SqlUnitOfWork
from ..store.tables import jobs as jobs_table
from .schemas import LearnerIn

router = APIRouter(prefix="/v1", tags=["bulk"])
bulk_limit = RateLimit("bulk enrollment", per_minute=6, burst=3)
import_limit = RateLimit("CSV import", per_minute=10, burst=5)
RegionCode = Annotated[str, Field(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")]
MAX_CSV_ROWS = 5000
MAX_CSV_BYTES = 2_000_000


class BulkEnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    region_code: RegionCode
    positions: list[Position] = Field(default_factory=list, max_length=10)
    cohort: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class JobOut(BaseModel):
    job_id: uuid.UUID
    kind: str
    state: str
    total: int
    done: int
    skipped: int
    failed: int
    params: dict[str, Any]
    error: str | None


def job_out(row: Any) -> JobOut:
    return JobOut(
        job_id=row.job_id,
        kind=row.kind,
        state=row.state,
        total=row.total,
        done=row.done,
        skipped=row.skipped,
        failed=row.failed,
        params=row.params,
        error=row.error,
    )


@router.post(
    "/enrollments/bulk",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(bulk_limit)],
)
async def bulk_enroll(
    body: BulkEnrollmentIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Enroll every learner of a region (optionally only some positions) as a background job."""
    principal.require(Role.ADMIN)
    cap = cast(EnrollmentSettings, runtime.settings).bulk_max_learners
    async with runtime.database.transaction() as tx:
        uow = SqlUnitOfWork(tx)
        course = await uow.latest_course(body.course_id)
        if course is None:
            raise field_problem("course_id", "no published course has this id", "unknown_course")
        if body.cohort is not None:
            cohort = await uow.get_cohort(body.course_id, body.cohort)
            if cohort is None:
                raise field_problem(
                    "cohort", "the course has no cohort with this name", "unknown_cohort"
                )
            if not cohort.is_open(datetime.now(UTC)):
                raise Problem(
                    409,
                    "enrollment_window_closed",
                    f"enrollment in {body.cohort!r} is not open now",
                )
        bulk = jobs.BulkEnrollment(
            course.course_id,
            course.version,
            course.title,
            body.region_code,
            tuple(body.positions),
            body.cohort,
        )
        total = await jobs.count_matching(tx.conn, bulk)
        if total > cap:
            raise field_problem(
                "region_code",
                f"matches {total} learners; at most {cap} per job",
                "bulk_job_too_large",
            )
        job_id = await jobs.create_job(tx.conn, bulk, total, principal.subject)
        row = (await tx.conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))).one()
    return JSONResponse(
        job_out(row).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/jobs/{job_id}"},
    )


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> JobOut:
    principal.require(Role.ADMIN)
    async with runtime.database.read() as conn:
        row = (await conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))).first()
    if row is None:
        raise Problem(404, "job_not_found", "no job has this id")
    return job_out(row)


@router.post("/learners/import", dependencies=[Depends(import_limit)])
async def import_learners(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    file: Annotated[
        UploadFile, File(description="CSV: full_name,position,village_code,phone,email")
    ],
    region_code: Annotated[str, Form(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")],
    course_id: Annotated[uuid.UUID | None, Form()] = None,
) -> dict[str, Any]:
    """Register learners of a region from CSV; invalid rows are reported, valid ones kept."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    if not principal.covers_region(region_code):
        raise Problem(403, "outside_region", "region_code is outside your region")
    raw = await file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise Problem(413, "payload_too_large", f"the CSV exceeds {MAX_CSV_BYTES} bytes")
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise field_problem("file", f"not a UTF-8 CSV file: {exc}") from exc
    if len(rows) > MAX_CSV_ROWS:
        raise field_problem("file", f"at most {MAX_CSV_ROWS} rows per upload")
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, LearnerIn]] = []
    for number, row in enumerate(rows, start=2):
        fields = {k.strip(): (v or "").strip() or None for k, v in row.items() if k}
        try:
            learner = LearnerIn.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            errors += [
                {
                    "row": number,
                    "field": ".".join(str(p) for p in e["loc"]) or "row",
                    "message": e["msg"],
                }
                for e in exc.errors()
            ]
            continue
        if not learner.village_code.replace(".", "").startswith(region_code.replace(".", "")):
            errors.append(
                {"row": number, "field": "village_code", "message": f"outside region {region_code}"}
            )
            continue
        valid.append((number, learner))
    created = enrolled = 0
    async with runtime.database.transaction() as tx:
        uow = SqlUnitOfWork(tx)
        for number, learner_in in valid:
            registered = await usecases.register_learner(
                commands.RegisterLearner(
                    full_name=learner_in.full_name,
                    position=learner_in.position,
                    village_code=learner_in.village_code,
                    phone=learner_in.phone,
                    email=learner_in.email,
                ),
                uow,
            )
            created += 1
            if course_id is not None:
                try:
                    await usecases.enroll_learner(
                        commands.EnrollLearner(registered.learner_id, course_id), uow
                    )
                    enrolled += 1
                except (AlreadyEnrolled, DomainError) as exc:
                    errors.append({"row": number, "field": "course_id", "message": str(exc)})
        await uow.flush_events()
    return {
        "rows": len(rows),
        "created": created,
        "enrolled": enrolled,
        "errors": sorted(errors, key=lambda e: e["row"]),
    }
