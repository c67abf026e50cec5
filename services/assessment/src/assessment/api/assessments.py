"""HTTP edge: authoring assessments and reading them (with the key for authors only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.service import RuntimeDep

from .. import usecases
from ..domain import commands
from ..domain.errors import DomainError, UnknownAssessment
from ..domain.model import Assessment, AssessmentKind
from ..store.repository import SqlUnitOfWork
from ..store.rows import assessment_from_rows
from ..store.tables import assessments, enrollments, questions
from .edge import (
    AUTHORS,
    IdempotencyKey,
    cache_of,
    cursor_id,
    domain_problem,
    in_transaction,
    keyed_out,
    learner_of,
    now_of,
    summary_out,
)
from .schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentSummary,
)

router = APIRouter(prefix="/v1", tags=["assessments"])


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
        uow = SqlUnitOfWork(tx, cache=cache_of(runtime))
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
