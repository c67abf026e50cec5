"""Request and response bodies of the assessment API.

Learner-facing bodies (``AttemptOut``, ``ResultOut``, ``AssessmentSummary``) have no field that
could carry an answer key: correctness lives only in ``QuestionKeyOut``, for authors.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from servicekit.fields import LINE, TEXT

from ..domain.model import (
    AssessmentKind,
    AttemptStatus,
    Match,
    QuestionKind,
    Review,
    VersionStatus,
)

Text = Annotated[str, Field(min_length=1, max_length=2000), TEXT]


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=500), TEXT]
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
        Annotated[list[Annotated[str, Field(max_length=500), LINE]], Field(max_length=20)] | None
    ) = Field(default=None, description="short_answer questions")
    match: Match | None = Field(
        default=None, description="short_answer questions; `normalised` when omitted"
    )


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    kind: AssessmentKind
    title: Annotated[str, Field(min_length=1, max_length=200), LINE]
    pass_score: Annotated[float, Field(ge=0, le=100)] = 70
    max_attempts: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=3, description="null: unlimited"
    )
    time_limit_seconds: Annotated[int, Field(ge=30, le=86_400)] | None = Field(
        default=None, description="null: untimed"
    )
    questions_drawn: Annotated[int, Field(ge=1, le=500)] | None = Field(
        default=None, description="draw this many questions per attempt; null: all"
    )
    shuffle_questions: StrictBool = True
    shuffle_options: StrictBool = True
    review: Review = Field(
        default=Review.AFTER_LAST_ATTEMPT,
        description="when a learner may see their answers beside the correct ones",
    )
    allow_offline: StrictBool | None = Field(
        default=None,
        description="may be taken as a paper and graded when synced (untimed only); null: "
        "untimed pre-tests and quizzes may, post-tests may not",
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
    allow_offline: bool
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
    offline: bool = False
    answered_at: datetime | None = Field(
        default=None, description="when the learner finished, in their device's time zone"
    )


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
    text: Annotated[str, Field(max_length=1000), TEXT] | None = None


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: Annotated[list[AnswerIn], Field(max_length=500)]
    answered_at: AwareDatetime | None = Field(
        default=None,
        description="when the learner finished, on the device's clock with its offset "
        "(papers answered offline); kept as sent",
    )


Reason = Annotated[
    str,
    Field(
        min_length=5,
        max_length=500,
        description="Why the learner gets more: shown to the learner and sent to their "
        "region's systems with the grant, so no health or family details.",
    ),
    TEXT,
]


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


class PaperRules(BaseModel):
    """What a client tells the learner before they go offline with a paper."""

    offline: bool = Field(description="answered without a connection, graded when synced")
    timed: bool
    graded: str = Field(description="`once_when_synced`: a paper sent twice is graded once")
    pass_score: float
    max_attempts: int | None
    attempts_used: int = Field(description="this paper included")
    attempts_left: int | None
    course_version: int | None = Field(
        description="the course version it is valid for: after a move to another, it is void"
    )
    post_test_offline: bool | None = Field(
        description="whether the course's post-test may be taken offline too (null: none)"
    )
    submit_path: str
    answered_at: str = Field(description="what to send as `answered_at`")


class PaperOut(BaseModel):
    """An attempt to answer offline: the questions, never the key, and the rules."""

    format: str
    attempt_id: uuid.UUID
    assessment_id: uuid.UUID
    assessment_kind: AssessmentKind
    assessment_version: int = Field(description="the version its questions were drawn from")
    title: str
    course_id: uuid.UUID
    learner_id: uuid.UUID
    attempt_number: int
    issued_at: datetime
    rules: PaperRules
    questions: list[PaperQuestionOut]
