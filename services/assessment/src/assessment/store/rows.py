"""Rows <-> domain objects: how assessments, banks and attempts are kept in their tables."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from ..domain.model import (
    Answer,
    Assessment,
    AssessmentKind,
    Attempt,
    AttemptStatus,
    DrawnQuestion,
    Match,
    Option,
    Question,
    QuestionKind,
    Review,
    VersionStatus,
)


def assessment_from_rows(row: Any, bank: list[Any]) -> Assessment:
    """A version's row (with its assessment's course and kind) and its questions; a row of
    ``assessments`` alone is its published version without the bank."""
    return Assessment(
        assessment_id=row.assessment_id,
        course_id=row.course_id,
        kind=AssessmentKind(row.kind),
        title=row.title,
        pass_score=row.pass_score,
        max_attempts=row.max_attempts,
        time_limit_seconds=row.time_limit_seconds,
        questions_drawn=row.questions_drawn,
        shuffle_questions=row.shuffle_questions,
        shuffle_options=row.shuffle_options,
        questions=tuple(question_from_row(q) for q in bank),
        created_at=row.created_at,
        version=row.version,
        status=VersionStatus(getattr(row, "status", VersionStatus.PUBLISHED)),
        review=Review(row.review),
        allow_offline=row.allow_offline,
    )


def question_from_row(row: Any) -> Question:
    return Question(
        question_id=row.question_id,
        kind=QuestionKind(row.kind),
        prompt=row.prompt,
        points=row.points,
        options=tuple(
            Option(uuid.UUID(o["option_id"]), o["text"], o["correct"]) for o in row.options
        ),
        answer=row.answer,
        accepted_answers=tuple(row.accepted_answers),
        match=Match(row.match) if row.match else Match.NORMALISED,
    )


def settings_values(assessment: Assessment) -> dict[str, Any]:
    """What a version sets, kept per version and, for the published one, on the assessment."""
    return {
        "title": assessment.title,
        "pass_score": assessment.pass_score,
        "max_attempts": assessment.max_attempts,
        "time_limit_seconds": assessment.time_limit_seconds,
        "questions_drawn": assessment.questions_drawn,
        "shuffle_questions": assessment.shuffle_questions,
        "shuffle_options": assessment.shuffle_options,
        "review": assessment.review.value,
        "allow_offline": assessment.allow_offline,
    }


def version_values(assessment: Assessment, created_by: str) -> dict[str, Any]:
    return {
        "assessment_id": assessment.assessment_id,
        "version": assessment.version,
        "status": assessment.status.value,
        **settings_values(assessment),
        "created_by": created_by,
        "created_at": assessment.created_at,
    }


def assessment_values(assessment: Assessment) -> dict[str, Any]:
    return {
        "assessment_id": assessment.assessment_id,
        "course_id": assessment.course_id,
        "kind": assessment.kind.value,
        "version": assessment.version,
        "review": assessment.review.value,
        "title": assessment.title,
        "pass_score": assessment.pass_score,
        "max_attempts": assessment.max_attempts,
        "time_limit_seconds": assessment.time_limit_seconds,
        "questions_drawn": assessment.questions_drawn,
        "shuffle_questions": assessment.shuffle_questions,
        "shuffle_options": assessment.shuffle_options,
        "created_at": assessment.created_at,
        "allow_offline": assessment.allow_offline,
    }


def question_values(
    assessment_id: uuid.UUID, position: int, question: Question, version: int = 1
) -> dict[str, Any]:
    return {
        "question_id": question.question_id,
        "assessment_id": assessment_id,
        "version": version,
        "position": position,
        "kind": question.kind.value,
        "prompt": question.prompt,
        "points": question.points,
        "options": [
            {"option_id": str(o.option_id), "text": o.text, "correct": o.correct}
            for o in question.options
        ],
        "answer": question.answer,
        "accepted_answers": list(question.accepted_answers),
        "match": question.match.value if question.kind == QuestionKind.SHORT_ANSWER else None,
    }


def attempt_from_row(row: Any) -> Attempt:
    return Attempt(
        attempt_id=row.attempt_id,
        assessment_id=row.assessment_id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        village_code=row.village_code,
        attempt_number=row.attempt_number,
        seed=row.seed,
        paper=tuple(
            DrawnQuestion(uuid.UUID(d["question_id"]), tuple(uuid.UUID(o) for o in d["option_ids"]))
            for d in row.paper
        ),
        started_at=row.started_at,
        expires_at=row.expires_at,
        status=AttemptStatus(row.status),
        answers=tuple(_answer_from_json(a) for a in row.answers or ()),
        points=row.points,
        max_points=row.max_points,
        score=row.score,
        passed=row.passed,
        graded_at=row.graded_at,
        assessment_version=row.assessment_version,
        offline=row.offline,
        course_version=row.course_version,
        answered_at=_local(row.answered_at, row.answered_utc_offset_minutes),
    )


def _local(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    """A moment back in the time zone its device gave it in."""
    if moment is None or offset_minutes is None:
        return moment
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))


def _offset_minutes(moment: datetime | None) -> int | None:
    offset = moment.utcoffset() if moment is not None else None
    return None if offset is None else int(offset.total_seconds() // 60)


def attempt_values(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt_id": attempt.attempt_id,
        "assessment_id": attempt.assessment_id,
        "learner_id": attempt.learner_id,
        "course_id": attempt.course_id,
        "village_code": attempt.village_code,
        "attempt_number": attempt.attempt_number,
        "seed": attempt.seed,
        "paper": [
            {"question_id": str(d.question_id), "option_ids": [str(o) for o in d.option_ids]}
            for d in attempt.paper
        ],
        "started_at": attempt.started_at,
        "expires_at": attempt.expires_at,
        "status": attempt.status.value,
        "answers": [_answer_to_json(a) for a in attempt.answers],
        "points": attempt.points,
        "max_points": attempt.max_points,
        "score": attempt.score,
        "passed": attempt.passed,
        "graded_at": attempt.graded_at,
        "assessment_version": attempt.assessment_version,
        "offline": attempt.offline,
        "course_version": attempt.course_version,
        "answered_at": attempt.answered_at,
        "answered_utc_offset_minutes": _offset_minutes(attempt.answered_at),
    }


def _answer_to_json(answer: Answer) -> dict[str, Any]:
    body: dict[str, Any] = {"question_id": str(answer.question_id)}
    if answer.option_ids is not None:
        body["option_ids"] = [str(o) for o in answer.option_ids]
    if answer.value is not None:
        body["value"] = answer.value
    if answer.text is not None:
        body["text"] = answer.text
    return body


def _answer_from_json(body: dict[str, Any]) -> Answer:
    option_ids = body.get("option_ids")
    return Answer(
        question_id=uuid.UUID(body["question_id"]),
        option_ids=tuple(uuid.UUID(o) for o in option_ids) if option_ids is not None else None,
        value=body.get("value"),
        text=body.get("text"),
    )
