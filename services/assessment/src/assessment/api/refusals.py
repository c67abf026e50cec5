"""How each refusal of the assessment domain reaches a client."""

from __future__ import annotations

from typing import Any

from servicekit.i18n import text
from servicekit.problems import Refusal, Refusals

from ..domain.errors import (
    AttemptFinished,
    DomainError,
    InvalidField,
    MaxAttemptsReached,
    NoDraft,
    NotEnrolled,
    OnlineOnly,
    PaperOutdated,
    PostTestExists,
    PostTestLocked,
    ReviewNotAvailable,
    UnknownAssessment,
    UnknownAttempt,
)

# an unknown id and one the caller may not see are answered alike
NOT_VISIBLE = "no {} with this id is visible to you"


def locked(exc: PostTestLocked) -> dict[str, Any]:
    """How many required lessons are left, which ones, and the same in words."""
    return {
        "missing_lessons": exc.missing_lessons,
        "missing": [{"lesson_id": str(x), "title": t} for x, t in exc.missing or []],
        "explanation": explain_locked(exc),
    }


def explain_locked(exc: PostTestLocked) -> str:
    """For the learner, in the request's language: which required lessons are still to do."""
    if exc.missing is None:
        return text("completion", "post_test_version_unknown") or str(exc)
    untitled = text("completion", "untitled") or "-"
    names = ", ".join(f'"{title}"' if title else untitled for _, title in exc.missing)
    opens = text("completion", "post_test_after_lessons") or str(exc)
    lessons = text("completion", "required_lessons", count=len(exc.missing), names=names)
    return f"{opens} {lessons or ''}".strip()


REFUSALS = Refusals(
    DomainError,
    {
        InvalidField: Refusal(422, "invalid_field"),
        UnknownAssessment: Refusal(
            404, "assessment_not_found", detail=NOT_VISIBLE.format("assessment")
        ),
        UnknownAttempt: Refusal(404, "attempt_not_found", detail=NOT_VISIBLE.format("attempt")),
        NotEnrolled: Refusal(403, "not_enrolled"),
        PostTestLocked: Refusal(409, "post_test_locked", extra=lambda exc: locked(exc)),
        MaxAttemptsReached: Refusal(
            409, "max_attempts_reached", extra=lambda exc: {"max_attempts": exc.max_attempts}
        ),
        PostTestExists: Refusal(
            409,
            "post_test_exists",
            field="course_id",
            detail="this course has a post-test already: revise it and publish the new version",
            extra=lambda exc: {"assessment_id": str(exc.assessment_id)},
        ),
        NoDraft: Refusal(
            409,
            "no_draft",
            field="assessment_id",
            detail="the latest version is published: revise it first",
        ),
        AttemptFinished: Refusal(
            409,
            "attempt_finished",
            field="attempt_id",
            detail="the attempt is finished or its time is up",
        ),
        ReviewNotAvailable: Refusal(
            409,
            "review_not_available",
            field="attempt_id",
            detail="this attempt cannot be reviewed now",
        ),
        OnlineOnly: Refusal(409, "online_only"),
        PaperOutdated: Refusal(
            409,
            "paper_outdated",
            extra=lambda exc: {"issued_for_version": exc.issued_for, "course_version": exc.current},
        ),
    },
)
