"""Request and response bodies of the assessment API.

Learner-facing bodies (``AttemptOut``, ``ResultOut``, ``AssessmentSummary``) have no field that
could carry an answer key: correctness lives only in ``QuestionKeyOut``, for authors.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ..domain.model import (
    AssessmentKind,
    AttemptStatus,
    Match,
    QuestionKind,
    Review,
    VersionStatus,
)

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=500)]
    correct: StrictBool = False


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    prompt: Text
    points: Annotated[int, Field(ge=1, le=100)] = 1
    options: Annotated[list[OptionIn], Field(max_length=20)] | None = Field(
        default=None, description="choice questions: the options, with `correct` marked"
    )
    answer: StrictBool | None = Field(default=None, description="true_false questions")
    accepted_answers: (
        Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=20)] | None
    ) = Field(default=None, description="short_answer questions")
    match: Match | None = Field(
        default=None, description="short_answer questions; `normalised` when omitted"
    )


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    kind: AssessmentKind
    title: Annotated[str, Field(min_length=1, max_length=200)]
    pass_score: Annotated[float, Field(ge=0, le=100)] = 70
    max_attempts: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=3, description="null: unlimited"
    )
    time_limit_seconds: Annotated[int, Field(ge=30, le=86_400)] | None = Field(
        default=None, description="null: untimed"
    )
    questions_drawn: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="draw this many questions per attempt; null: all"
    )
    shuffle_questions: StrictBool = True
    shuffle_options: StrictBool = True
    review: Review = Field(
        default=Review.AFTER_LAST_ATTEMPT,
        description="when a learner may see their answers beside the correct ones",
    )
    questions: Annotated[list[QuestionIn], Field(min_length=1, max_length=500)]


class OptionKeyOut(BaseModel):
    option_id: uuid.UUID
    text: str
    correct: bool


class QuestionKeyOut(BaseModel):
    """A question with its answer key: authors only."""

    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    points: int
    options: list[OptionKeyOut] | None = None
    answer: bool | None = None
    accepted_answers: list[str] | None = None
    match: Match | None = None


class AssessmentSummary(BaseModel):
    assessment_id: uuid.UUID
    course_id: uuid.UUID
    kind: AssessmentKind
    title: str
    pass_score: float
    max_attempts: int | None
    time_limit_seconds: int | None
    questions_drawn: int | None
    question_count: int
    shuffle_questions: bool
    shuffle_options: bool
    created_at: datetime
    version: int = Field(description="the version shown; new attempts draw the published one")
    status: VersionStatus
    review: Review
    attempts_allowed: int | None = Field(
        default=None, description="learners: the limit, with the attempts granted to them"
    )
    attempts_used: int | None = Field(default=None, description="learners: their own")
    available: bool | None = Field(
        default=None, description="learners: whether they may start an attempt now"
    )
    unavailable_reason: str | None = None


class AssessmentOut(AssessmentSummary):
    questions: list[QuestionKeyOut]


class PaperOptionOut(BaseModel):
    option_id: uuid.UUID
    text: str


class PaperQuestionOut(BaseModel):
    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    points: int
    options: list[PaperOptionOut]


class ResultOut(BaseModel):
    attempt_id: uuid.UUID
    assessment_id: uuid.UUID
    assessment_kind: AssessmentKind
    learner_id: uuid.UUID
    attempt_number: int
    status: AttemptStatus
    score: float | None
    pass_score: float
    passed: bool | None
    points: float | None
    max_points: float | None
    graded_at: datetime | None
    assessment_version: int = Field(description="the version its paper was drawn from")


class AttemptOut(ResultOut):
    started_at: datetime
    expires_at: datetime | None
    questions: list[PaperQuestionOut]


class AnswerIn(BaseModel):
    """One answer, shaped by the question's kind: `option_ids`, `value` or `text`."""

    model_config = ConfigDict(extra="forbid")

    question_id: uuid.UUID
    option_ids: Annotated[list[uuid.UUID], Field(max_length=20)] | None = None
    value: StrictBool | None = None
    text: Annotated[str, Field(max_length=1000)] | None = None


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: Annotated[list[AnswerIn], Field(max_length=500)]


Reason = Annotated[str, Field(min_length=5, max_length=500)]


class AttemptsGrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: uuid.UUID
    extra_attempts: Annotated[int, Field(ge=1, le=10)]
    reason: Reason


class TimeGrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extra_seconds: Annotated[int, Field(ge=60, le=86_400)]
    reason: Reason


class GrantOut(BaseModel):
    grant_id: uuid.UUID
    assessment_id: uuid.UUID
    learner_id: uuid.UUID
    attempt_id: uuid.UUID | None
    extra_attempts: int
    extra_seconds: int
    reason: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None = Field(default=None, description="time grants: the new limit")


class ReviewedOptionOut(BaseModel):
    option_id: uuid.UUID
    text: str
    chosen: bool
    correct: bool


class ReviewedQuestionOut(BaseModel):
    """A question of the attempt with the learner's answer beside the correct one."""

    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    points: int
    earned: int
    correct: bool
    options: list[ReviewedOptionOut] | None = None
    given_value: bool | None = None
    correct_value: bool | None = None
    given_text: str | None = None
    accepted_answers: list[str] | None = None


class ReviewOut(ResultOut):
    questions: list[ReviewedQuestionOut]
