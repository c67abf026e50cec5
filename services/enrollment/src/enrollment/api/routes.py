"""HTTP edge of the enrollment service."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.database import Transaction
from servicekit.idempotency import idempotent_transaction
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem, field_problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.errors import (
    AlreadyEnrolled,
    DomainError,
    EnrollmentClosed,
    EnrollmentWindowClosed,
    UnknownCohort,
    UnknownCourse,
    UnknownLearner,
)
from ..domain.model import EnrollmentStatus, Learner, Position
from ..settings import EnrollmentSettings
from ..store.repository import SqlUnitOfWork, learner_from_row
from ..store.tables import certificates, cohorts, courses, enrollments, learners, lesson_completions
from .certificate_pdf import render_certificate
from .schemas import (
    CertificateOut,
    CohortIn,
    CohortOut,
    CourseOut,
    EnrollmentIn,
    EnrollmentOut,
    LearnerIn,
    LearnerOut,
    LearnerPatch,
)

router = APIRouter(prefix="/v1", tags=["enrollment"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def settings_of(runtime: RuntimeDep) -> EnrollmentSettings:
    return cast(EnrollmentSettings, runtime.settings)


def domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, AlreadyEnrolled):
        return Problem(409, "already_enrolled", str(exc), enrollment_id=str(exc.enrollment_id))
    if isinstance(exc, UnknownCourse):
        return field_problem("course_id", "no published course has this id", "unknown_course")
    if isinstance(exc, UnknownLearner):
        return field_problem("learner_id", "no learner has this id", "unknown_learner")
    if isinstance(exc, UnknownCohort):
        return field_problem("cohort", str(exc), "unknown_cohort")
    if isinstance(exc, EnrollmentWindowClosed):
        return Problem(409, "enrollment_window_closed", str(exc))
    if isinstance(exc, EnrollmentClosed):
        return Problem(409, "enrollment_closed", str(exc))
    return Problem(409, "conflict", str(exc))


def learner_out(learner: Learner, principal: Principal) -> LearnerOut:
    """Contact details only for the learner themself and admins."""
    show_contact = principal.has(Role.ADMIN) or principal.learner_id == learner.learner_id
    return LearnerOut(
        learner_id=learner.learner_id,
        full_name=learner.full_name,
        position=learner.position,
        village_code=learner.village_code,
        registered_at=learner.registered_at,
        phone=learner.phone if show_contact else None,
        email=learner.email if show_contact else None,
    )


def enrollment_out(row: Any, lessons: int | None = None) -> EnrollmentOut:
    return EnrollmentOut(
        enrollment_id=row.enrollment_id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        course_version=row.course_version,
        course_title=row.course_title,
        cohort=row.cohort,
        status=EnrollmentStatus(row.status),
        post_test_score=row.post_test_score,
        lessons_completed=lessons,
        enrolled_at=row.enrolled_at,
        completed_at=row.completed_at,
        withdrawn_at=row.withdrawn_at,
    )


def require_region(principal: Principal, village_code: str) -> None:
    if not principal.covers_region(village_code):
        raise Problem(403, "outside_region", "this village is outside your region")


async def idempotent(
    runtime: RuntimeDep,
    key: str | None,
    scope: str,
    body: Any,
    work: Callable[[SqlUnitOfWork], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run ``work`` and its events in one transaction; with a key, repeats get the first answer."""

    async def in_unit_of_work(tx: Transaction) -> tuple[int, Any]:
        uow = SqlUnitOfWork(tx)
        answer = await work(uow)
        await uow.flush_events()
        return answer

    try:
        return await idempotent_transaction(
            runtime.database, runtime.idempotency, in_unit_of_work, key=key, scope=scope, body=body
        )
    except DomainError as exc:
        raise domain_problem(exc) from exc


@router.post("/learners", status_code=201, response_model=LearnerOut)
async def register_learner(
    body: LearnerIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    require_region(principal, body.village_code)
    nik_hash = nik_digest(runtime, body.nik) if body.nik else None

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        if nik_hash and (existing := await uow.find_learner_by_nik(nik_hash)):
            raise Problem(
                409,
                "learner_exists",
                "a learner with this NIK is already registered",
                learner_id=str(existing.learner_id),
            )
        learner = await usecases.register_learner(
            commands.RegisterLearner(
                full_name=body.full_name,
                position=body.position,
                village_code=body.village_code,
                phone=body.phone,
                email=body.email,
            ),
            uow,
            nik_hash,
        )
        return 201, learner_out(learner, principal).model_dump(mode="json")

    return await idempotent(
        runtime,
        idempotency_key,
        f"learners:{principal.subject}",
        body.model_dump(mode="json"),
        work,
    )


def nik_digest(runtime: RuntimeDep, nik: str) -> str:
    key = settings_of(runtime).nik_hash_key.encode()
    return hmac.new(key, nik.encode(), hashlib.sha256).hexdigest()


@router.get("/learners", response_model=Page[LearnerOut])
async def list_learners(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    region_code: Annotated[
        str | None, Query(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
    ] = None,
    position: Position | None = None,
    course_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[LearnerOut]:
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    scope = region_code or ""
    if not principal.has(Role.ADMIN):
        own = principal.region_code or "__none__"
        if scope and not scope.startswith(own):
            raise Problem(403, "outside_region", "region_code is outside your region")
        scope = scope or own
    query = (
        select(learners).order_by(learners.c.village_code, learners.c.learner_id).limit(limit + 1)
    )
    if scope:
        query = query.where(learners.c.village_code.startswith(scope))
    if position:
        query = query.where(learners.c.position == position.value)
    if course_id or status:
        conditions = [enrollments.c.learner_id == learners.c.learner_id]
        if course_id:
            conditions.append(enrollments.c.course_id == course_id)
        if status:
            conditions.append(enrollments.c.status == status.value)
        query = query.where(select(enrollments.c.enrollment_id).where(and_(*conditions)).exists())
    position_after = decode_cursor(cursor)
    if position_after:
        query = query.where(
            or_(
                learners.c.village_code > position_after["v"],
                and_(
                    learners.c.village_code == position_after["v"],
                    learners.c.learner_id > uuid.UUID(position_after["id"]),
                ),
            )
        )
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    items = [learner_out(learner_from_row(r), principal) for r in rows[:limit]]
    next_cursor = (
        encode_cursor({"v": rows[limit - 1].village_code, "id": str(rows[limit - 1].learner_id)})
        if len(rows) > limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)


async def load_learner(runtime: RuntimeDep, learner_id: uuid.UUID, principal: Principal) -> Learner:
    async with runtime.database.read() as conn:
        row = (
            await conn.execute(select(learners).where(learners.c.learner_id == learner_id))
        ).first()
    if row is None or not principal.may_see_learner(row.learner_id, row.village_code):
        raise Problem(404, "learner_not_found", "no learner with this id is visible to you")
    return learner_from_row(row)


@router.get("/learners/{learner_id}", response_model=LearnerOut)
async def get_learner(
    learner_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> LearnerOut:
    return learner_out(await load_learner(runtime, learner_id, principal), principal)


@router.patch("/learners/{learner_id}", response_model=LearnerOut)
async def update_learner(
    learner_id: uuid.UUID, body: LearnerPatch, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    learner = await load_learner(runtime, learner_id, principal)
    changes = body.model_dump(exclude_unset=True)
    is_self = principal.learner_id == learner_id and not principal.has(Role.ADMIN, Role.SUPERVISOR)
    if is_self and set(changes) - {"phone", "email"}:
        raise Problem(403, "forbidden", "learners may change only their own phone and e-mail")
    if body.village_code:
        require_region(principal, body.village_code) if not is_self else None
    command = commands.UpdateLearner(
        learner_id=learner.learner_id,
        full_name=body.full_name,
        position=body.position,
        village_code=body.village_code,
        phone=body.phone,
        email=body.email,
        clear_phone="phone" in changes and body.phone is None,
        clear_email="email" in changes and body.email is None,
    )

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        updated = await usecases.update_learner(command, uow)
        return 200, learner_out(updated, principal).model_dump(mode="json")

    return await idempotent(runtime, None, "", None, work)


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut)
async def enroll(
    body: EnrollmentIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    learner = await load_learner(runtime, body.learner_id, principal)
    if principal.learner_id != learner.learner_id:
        principal.require(Role.ADMIN, Role.SUPERVISOR)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        enrollment = await usecases.enroll_learner(
            commands.EnrollLearner(
                learner_id=body.learner_id, course_id=body.course_id, cohort=body.cohort
            ),
            uow,
        )
        row = (
            await uow.conn.execute(
                select(enrollments).where(enrollments.c.enrollment_id == enrollment.enrollment_id)
            )
        ).one()
        return 201, enrollment_out(row, 0).model_dump(mode="json")

    return await idempotent(
        runtime,
        idempotency_key,
        f"enrollments:{principal.subject}",
        body.model_dump(mode="json"),
        work,
    )


@router.get("/enrollments", response_model=Page[EnrollmentOut])
async def list_enrollments(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    learner_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[EnrollmentOut]:
    query = (
        select(enrollments)
        .join(learners, learners.c.learner_id == enrollments.c.learner_id)
        .order_by(enrollments.c.enrollment_id)
        .limit(limit + 1)
    )
    if not principal.has(Role.ADMIN):
        if principal.has(Role.SUPERVISOR) and principal.region_code:
            query = query.where(learners.c.village_code.startswith(principal.region_code))
        elif principal.learner_id:
            query = query.where(enrollments.c.learner_id == principal.learner_id)
        else:
            raise Problem(403, "forbidden", "no enrollments are visible to you")
    if learner_id:
        query = query.where(enrollments.c.learner_id == learner_id)
    if course_id:
        query = query.where(enrollments.c.course_id == course_id)
    if status:
        query = query.where(enrollments.c.status == status.value)
    after = decode_cursor(cursor)
    if after:
        query = query.where(enrollments.c.enrollment_id > uuid.UUID(after["id"]))
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    items = [enrollment_out(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor({"id": str(rows[limit - 1].enrollment_id)}) if len(rows) > limit else None
    )
    return Page(items=items, next_cursor=next_cursor)


async def load_enrollment(
    runtime: RuntimeDep, enrollment_id: uuid.UUID, principal: Principal
) -> Any:
    async with runtime.database.read() as conn:
        row = (
            await conn.execute(
                select(enrollments, learners.c.village_code)
                .join(learners, learners.c.learner_id == enrollments.c.learner_id)
                .where(enrollments.c.enrollment_id == enrollment_id)
            )
        ).first()
        if row is None or not principal.may_see_learner(row.learner_id, row.village_code):
            raise Problem(
                404, "enrollment_not_found", "no enrollment with this id is visible to you"
            )
        lessons = (
            await conn.execute(
                select(func.count())
                .select_from(lesson_completions)
                .where(
                    lesson_completions.c.learner_id == row.learner_id,
                    lesson_completions.c.course_id == row.course_id,
                )
            )
        ).scalar_one()
    return row, lessons


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def get_enrollment(
    enrollment_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> EnrollmentOut:
    row, lessons = await load_enrollment(runtime, enrollment_id, principal)
    return enrollment_out(row, lessons)


@router.delete("/enrollments/{enrollment_id}", response_model=EnrollmentOut)
async def withdraw(
    enrollment_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    reason: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    await load_enrollment(runtime, enrollment_id, principal)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        await usecases.withdraw(commands.Withdraw(enrollment_id, reason), uow)
        row = (
            await uow.conn.execute(
                select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)
            )
        ).one()
        return 200, enrollment_out(row).model_dump(mode="json")

    return await idempotent(runtime, None, "", None, work)


@router.post("/cohorts", status_code=201, response_model=CohortOut)
async def create_cohort(
    body: CohortIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> CohortOut:
    """An intake (angkatan) of a published course, with its enrollment window."""
    principal.require(Role.ADMIN, Role.INSTRUCTOR)
    async with runtime.database.transaction() as tx:
        if await SqlUnitOfWork(tx).latest_course(body.course_id) is None:
            raise field_problem("course_id", "no published course has this id", "unknown_course")
        inserted = await tx.conn.execute(
            pg_insert(cohorts)
            .values(**body.model_dump(), created_at=func.now())
            .on_conflict_do_nothing()
            .returning(cohorts.c.name)
        )
        if inserted.first() is None:
            raise Problem(409, "cohort_exists", f"course already has a cohort named {body.name!r}")
    return CohortOut(**body.model_dump())


@router.get("/cohorts", response_model=list[CohortOut])
async def list_cohorts(
    course_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> list[CohortOut]:
    async with runtime.database.read() as conn:
        rows = await conn.execute(
            select(cohorts)
            .where(cohorts.c.course_id == course_id)
            .order_by(cohorts.c.enrollment_opens_at.nulls_first(), cohorts.c.name)
        )
        return [
            CohortOut(
                course_id=r.course_id,
                name=r.name,
                enrollment_opens_at=r.enrollment_opens_at,
                enrollment_closes_at=r.enrollment_closes_at,
            )
            for r in rows
        ]


@router.get("/catalog", response_model=list[CourseOut])
async def catalog(principal: CurrentPrincipal, runtime: RuntimeDep) -> list[CourseOut]:
    """Published courses this service has learnt from course-published events (latest versions)."""
    latest = (
        select(courses)
        .distinct(courses.c.course_id)
        .order_by(courses.c.course_id, courses.c.version.desc())
    )
    async with runtime.database.read() as conn:
        rows = (await conn.execute(latest)).all()
    return [
        CourseOut(
            course_id=r.course_id,
            version=r.version,
            code=r.code,
            title=r.title,
            required_lessons=len(r.required_lesson_ids),
            published_at=r.published_at,
        )
        for r in rows
    ]


@router.get("/certificates/{code}/pdf", response_class=Response)
async def certificate_pdf(code: str, principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    """The printable certificate, for its owner and for admins."""
    async with runtime.database.read() as conn:
        row = (
            await conn.execute(
                select(certificates).where(certificates.c.verification_code == code.upper()[:16])
            )
        ).first()
    if row is None or not (principal.has(Role.ADMIN) or principal.learner_id == row.learner_id):
        raise Problem(404, "certificate_not_found", "no certificate of yours has this code")
    verify_url = settings_of(runtime).certificate_verify_url.format(code=row.verification_code)
    pdf = render_certificate(row, verify_url)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="sertifikat-{row.verification_code}.pdf"'
        },
    )


@router.get("/certificates/{code}", response_model=CertificateOut, tags=["public"])
async def verify_certificate(code: str, runtime: RuntimeDep, response: Response) -> CertificateOut:
    """Public verification: only what a verifier needs."""
    async with runtime.database.read() as conn:
        row = (
            await conn.execute(
                select(certificates).where(certificates.c.verification_code == code.upper()[:16])
            )
        ).first()
    if row is None:
        raise Problem(404, "certificate_not_found", "no certificate has this verification code")
    response.headers["Cache-Control"] = "public, max-age=300"
    return CertificateOut(
        verification_code=row.verification_code,
        full_name=row.full_name,
        course_title=row.course_title,
        issued_at=row.issued_at,
        score=row.score,
        valid=not row.revoked,
    )
