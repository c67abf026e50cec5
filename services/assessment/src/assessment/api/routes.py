"""HTTP edge of the assessment service: authoring, attempts, results."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem, field_problem
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.errors import DomainError, UnknownAssessment
from ..domain.model import Answer, Assessment, AssessmentKind, AttemptStatus
from ..store.repository import SqlUnitOfWork, assessment_from_rows, attempt_from_row
from ..store.tables import assessments, attempts, enrollments, questions
from .edge import (
    AUTHORS,
    IdempotencyKey,
    attempt_out,
    domain_problem,
    grace_of,
    in_transaction,
    keyed_out,
    learner_of,
    now_of,
    result_out,
    shown_status,
    summary_out,
)
from .schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentSummary,
    AttemptOut,
    ResultOut,
    SubmissionIn,
)

router = APIRouter(prefix="/v1", tags=["assessment"])


def cursor_id(position: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(position.get("id")))
    except ValueError as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc


def create_command(body: AssessmentIn) -> commands.CreateAssessment:
    return commands.CreateAssessment(
        course_id=body.course_id,
        kind=body.kind,
        title=body.title,
        pass_score=body.pass_score,
        max_attempts=body.max_attempts,
        time_limit_seconds=body.time_limit_seconds,
        questions_drawn=body.questions_drawn,
        shuffle_questions=body.shuffle_questions,
        shuffle_options=body.shuffle_options,
        questions=tuple(
            commands.NewQuestion(
                kind=q.kind,
                prompt=q.prompt,
                points=q.points,
                options=(
                    tuple(commands.NewOption(o.text, o.correct) for o in q.options)
                    if q.options is not None
                    else None
                ),
                answer=q.answer,
                accepted_answers=tuple(q.accepted_answers)
                if q.accepted_answers is not None
                else None,
                match=q.match,
            )
            for q in body.questions
        ),
    )


@router.post("/assessments", status_code=201, response_model=AssessmentOut)
async def create_assessment(
    body: AssessmentIn,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(*AUTHORS)
    command, now = create_command(body), now_of(request)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        assessment = await usecases.create_assessment(command, uow, now)
        return 201, keyed_out(assessment).model_dump(mode="json")

    return await in_transaction(
        runtime,
        work,
        key=idempotency_key,
        scope=f"assessments:{principal.subject}",
        body=body.model_dump(mode="json"),
        created_by=principal.subject,
    )


@router.get("/assessments", response_model=Page[AssessmentSummary])
async def list_assessments(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    course_id: uuid.UUID | None = None,
    kind: AssessmentKind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AssessmentSummary]:
    """Authors, supervisors and admins see every assessment; learners those of their courses."""
    query = select(assessments).order_by(assessments.c.assessment_id).limit(limit + 1)
    if not principal.has(Role.INSTRUCTOR, Role.ADMIN, Role.SUPERVISOR):
        learner_id = learner_of(principal)
        query = query.where(
            assessments.c.course_id.in_(
                select(enrollments.c.course_id).where(
                    enrollments.c.learner_id == learner_id,
                    enrollments.c.withdrawn_at.is_(None),
                    enrollments.c.course_version.is_not(None),
                )
            )
        )
    if course_id:
        query = query.where(assessments.c.course_id == course_id)
    if kind:
        query = query.where(assessments.c.kind == kind.value)
    after = decode_cursor(cursor)
    if after:
        query = query.where(assessments.c.assessment_id > cursor_id(after))
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
        counts = await question_counts(conn, [r.assessment_id for r in rows[:limit]])
    items = [
        summary_out(assessment_from_rows(r, [])).model_copy(
            update={"question_count": counts.get(r.assessment_id, 0)}
        )
        for r in rows[:limit]
    ]
    next_cursor = (
        encode_cursor({"id": str(rows[limit - 1].assessment_id)}) if len(rows) > limit else None
    )
    return Page(items=items, next_cursor=next_cursor)


async def question_counts(conn: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = await conn.execute(
        select(questions.c.assessment_id, func.count())
        .where(questions.c.assessment_id.in_(ids))
        .group_by(questions.c.assessment_id)
    )
    return {row[0]: row[1] for row in rows}


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut | AssessmentSummary)
async def get_assessment(
    assessment_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AssessmentOut | AssessmentSummary:
    """Authors get the bank with its answer key; learners a summary with where they stand."""
    async with runtime.database.transaction() as tx:
        uow = SqlUnitOfWork(tx)
        assessment = await uow.get_assessment(assessment_id)
        if assessment is None:
            raise domain_problem(UnknownAssessment(str(assessment_id)))
        if principal.has(*AUTHORS):
            return keyed_out(assessment)
        if principal.has(Role.SUPERVISOR):
            return summary_out(assessment)
        return await learner_summary(uow, assessment, learner_of(principal), request)


async def learner_summary(
    uow: SqlUnitOfWork, assessment: Assessment, learner_id: uuid.UUID, request: Request
) -> AssessmentSummary:
    enrollment = await uow.active_enrollment(learner_id, assessment.course_id)
    if enrollment is None:
        raise domain_problem(UnknownAssessment(str(assessment.assessment_id)))
    taken = await uow.attempts_of(learner_id, assessment.assessment_id)
    now = now_of(request)
    reason = None
    try:
        course = await uow.course_version(enrollment.course_id, enrollment.course_version)
        enrollment.require_open(assessment.kind, course)
    except DomainError as exc:
        reason = str(exc)
    resumable = any(a.is_open(now) for a in taken)
    used_up = assessment.max_attempts is not None and len(taken) >= assessment.max_attempts
    if reason is None and not resumable and used_up:
        reason = f"all {assessment.max_attempts} attempts are used"
    return summary_out(assessment).model_copy(
        update={
            "attempts_used": len(taken),
            "available": reason is None,
            "unavailable_reason": reason,
        }
    )


@router.post(
    "/assessments/{assessment_id}/attempts",
    status_code=201,
    response_model=AttemptOut,
    responses={200: {"description": "the attempt already in progress, resumed"}},
)
async def start_attempt(
    assessment_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    learner_id, now = learner_of(principal), now_of(request)
    command = commands.StartAttempt(assessment_id, learner_id)

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        attempt, created = await usecases.start_attempt(command, uow, now, secrets.randbits(62))
        assessment = await uow.get_assessment(assessment_id)
        assert assessment is not None
        body = attempt_out(attempt, assessment, attempt.status).model_dump(mode="json")
        return (201 if created else 200), body

    return await in_transaction(runtime, work)


@router.post("/attempts/{attempt_id}/submit", response_model=ResultOut)
async def submit_attempt(
    attempt_id: uuid.UUID,
    body: SubmissionIn,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Graded once; a repeat returns the first result. Too late: 409 ``attempt_expired``."""
    learner_id, now, grace = learner_of(principal), now_of(request), grace_of(runtime)
    command = commands.SubmitAttempt(
        attempt_id,
        learner_id,
        tuple(
            Answer(
                question_id=a.question_id,
                option_ids=tuple(a.option_ids) if a.option_ids is not None else None,
                value=a.value,
                text=a.text,
            )
            for a in body.answers
        ),
    )

    results: list[ResultOut] = []

    async def work(uow: SqlUnitOfWork) -> tuple[int, Any]:
        attempt = await usecases.submit_attempt(command, uow, now, grace)
        assessment = await uow.get_assessment(attempt.assessment_id)
        assert assessment is not None
        results.append(result_out(attempt, assessment, attempt.status))
        return 200, results[-1].model_dump(mode="json")

    response = await in_transaction(runtime, work)
    result = results[-1]
    if result.status == AttemptStatus.EXPIRED:
        # committed as zero already: a repeat gets the same answer
        raise Problem(
            409,
            "attempt_expired",
            "the time limit of this attempt has passed; it counts as zero",
            result=result.model_dump(mode="json"),
        )
    return response


def may_see_attempt(principal: Principal, learner_id: uuid.UUID, village_code: str) -> bool:
    return principal.has(*AUTHORS) or principal.may_see_learner(learner_id, village_code)


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
async def get_attempt(
    attempt_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> AttemptOut:
    async with runtime.database.transaction() as tx:
        uow = SqlUnitOfWork(tx)
        attempt = await uow.get_attempt(attempt_id)
        if attempt is None or not may_see_attempt(
            principal, attempt.learner_id, attempt.village_code
        ):
            raise Problem(404, "attempt_not_found", "no attempt with this id is visible to you")
        assessment = await uow.get_assessment(attempt.assessment_id)
    assert assessment is not None
    status = shown_status(attempt, now_of(request), grace_of(runtime))
    return attempt_out(attempt, assessment, status)


@router.get("/attempts", response_model=Page[ResultOut])
async def list_attempts(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    assessment_id: uuid.UUID | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ResultOut]:
    """Learners see their own attempts, supervisors those in their region, authors all."""
    query = (
        select(attempts, assessments.c.kind, assessments.c.pass_score)
        .join(assessments, assessments.c.assessment_id == attempts.c.assessment_id)
        .order_by(attempts.c.attempt_id)
        .limit(limit + 1)
    )
    if not principal.has(*AUTHORS):
        if principal.has(Role.SUPERVISOR) and principal.region_code:
            query = query.where(attempts.c.village_code.startswith(principal.region_code))
        else:
            query = query.where(attempts.c.learner_id == learner_of(principal))
    if assessment_id:
        query = query.where(attempts.c.assessment_id == assessment_id)
    if learner_id:
        query = query.where(attempts.c.learner_id == learner_id)
    after = decode_cursor(cursor)
    if after:
        query = query.where(attempts.c.attempt_id > cursor_id(after))
    async with runtime.database.read() as conn:
        rows = (await conn.execute(query)).all()
    now, grace = now_of(request), grace_of(runtime)
    items = []
    for row in rows[:limit]:
        attempt = attempt_from_row(row)
        items.append(
            ResultOut(
                attempt_id=attempt.attempt_id,
                assessment_id=attempt.assessment_id,
                assessment_kind=AssessmentKind(row.kind),
                learner_id=attempt.learner_id,
                attempt_number=attempt.attempt_number,
                status=shown_status(attempt, now, grace),
                score=attempt.score,
                pass_score=row.pass_score,
                passed=attempt.passed,
                points=attempt.points,
                max_points=attempt.max_points,
                graded_at=attempt.graded_at,
            )
        )
    next_cursor = (
        encode_cursor({"id": str(rows[limit - 1].attempt_id)}) if len(rows) > limit else None
    )
    return Page(items=items, next_cursor=next_cursor)
