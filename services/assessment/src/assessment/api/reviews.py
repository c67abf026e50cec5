"""HTTP edge: an attempt's answers beside the correct ones, for its learner once the
assessment allows it (after the last attempt, by default) and for authors at any time."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from servicekit.auth import CurrentPrincipal
from servicekit.openapi import problems

from ..domain.errors import ReviewNotAvailable, UnknownAttempt
from ..domain.grading import is_correct
from ..domain.model import Answer, Assessment, Attempt, QuestionKind, attempts_allowed, may_review
from ..store import queries
from . import views
from .dependencies import AUTHORS, ServiceRuntime
from .schemas import ReviewedOptionOut, ReviewedQuestionOut, ReviewOut

router = APIRouter(prefix="/v1", tags=["attempts"])


@router.get("/attempts/{attempt_id}/review", response_model=ReviewOut, responses=problems(409))
async def review_attempt(
    attempt_id: uuid.UUID, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> ReviewOut:
    """The learner's answers with the correct ones. Learners: their own finished attempts,
    as the assessment's ``review`` says (409 ``review_not_available`` before)."""
    author = principal.has(*AUTHORS)
    async with runtime.runner.read() as conn:
        attempt = await queries.attempt(conn, attempt_id)
        if attempt is None or not (author or principal.learner_id == attempt.learner_id):
            raise UnknownAttempt(str(attempt_id))
        assessment = await queries.assessment(
            conn, attempt.assessment_id, runtime.deps.assessment_cache, attempt.assessment_version
        )
        assert assessment is not None
        if not author:
            used = await queries.attempts_of(conn, attempt.learner_id, attempt.assessment_id)
            extra = await queries.extra_attempts(conn, attempt.learner_id, attempt.assessment_id)
            current = await queries.assessment(
                conn, attempt.assessment_id, runtime.deps.assessment_cache
            )
            allowed = attempts_allowed(current or assessment, extra)
            if not may_review(assessment, attempt, sum(a.counts for a in used), allowed):
                raise ReviewNotAvailable()
    return review_out(attempt, assessment)


def review_out(attempt: Attempt, assessment: Assessment) -> ReviewOut:
    given = {a.question_id: a for a in attempt.answers}
    questions = []
    for drawn in attempt.paper:
        question = assessment.question(drawn.question_id)
        assert question is not None
        answer = given.get(question.question_id) or Answer(question.question_id)
        right = is_correct(question, given.get(question.question_id))
        texts = {o.option_id: o for o in question.options}
        questions.append(
            ReviewedQuestionOut(
                question_id=question.question_id,
                kind=question.kind,
                prompt=question.prompt,
                points=question.points,
                earned=question.points if right else 0,
                correct=right,
                options=[
                    ReviewedOptionOut(
                        option_id=o,
                        text=texts[o].text,
                        chosen=o in (answer.option_ids or ()),
                        correct=texts[o].correct,
                    )
                    for o in drawn.option_ids
                ]
                or None,
                given_value=answer.value,
                correct_value=question.answer if question.kind == QuestionKind.TRUE_FALSE else None,
                given_text=answer.text,
                accepted_answers=list(question.accepted_answers)
                if question.kind == QuestionKind.SHORT_ANSWER
                else None,
            )
        )
    result = views.result_out(attempt, assessment, attempt.status)
    return ReviewOut(**result.model_dump(), questions=questions)
