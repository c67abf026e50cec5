"""Rules an assessment's question bank must follow before learners may see it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from .commands import CreateAssessment, NewQuestion
from .errors import InvalidField
from .model import (
    CHOICE_KINDS,
    Assessment,
    Match,
    Option,
    Question,
    QuestionKind,
    VersionStatus,
    offline_by_default,
)

_FIELDS_OF = {
    QuestionKind.SINGLE_CHOICE: {"options"},
    QuestionKind.MULTIPLE_CHOICE: {"options"},
    QuestionKind.TRUE_FALSE: {"answer"},
    QuestionKind.SHORT_ANSWER: {"accepted_answers", "match"},
}


def build_assessment(
    cmd: CreateAssessment,
    assessment_id: uuid.UUID,
    now: datetime,
    version: int = 1,
    status: VersionStatus = VersionStatus.PUBLISHED,
) -> Assessment:
    if not cmd.questions:
        raise InvalidField("questions", "an assessment needs at least one question")
    if cmd.questions_drawn is not None and cmd.questions_drawn > len(cmd.questions):
        raise InvalidField(
            "questions_drawn",
            "cannot draw more questions than the bank has",
        )
    allow_offline = cmd.allow_offline
    if allow_offline is None:
        allow_offline = offline_by_default(cmd.kind, cmd.time_limit_seconds)
    if allow_offline and cmd.time_limit_seconds is not None:
        raise InvalidField("allow_offline", "a timed assessment is taken online")
    questions = tuple(
        build_question(question, f"questions.{index}")
        for index, question in enumerate(cmd.questions)
    )
    return Assessment(
        assessment_id=assessment_id,
        course_id=cmd.course_id,
        kind=cmd.kind,
        title=cmd.title.strip(),
        pass_score=cmd.pass_score,
        max_attempts=cmd.max_attempts,
        time_limit_seconds=cmd.time_limit_seconds,
        questions_drawn=cmd.questions_drawn,
        shuffle_questions=cmd.shuffle_questions,
        shuffle_options=cmd.shuffle_options,
        questions=questions,
        created_at=now,
        version=version,
        status=status,
        review=cmd.review,
        allow_offline=allow_offline,
    )


def build_question(new: NewQuestion, at: str) -> Question:
    given = {
        name
        for name in ("options", "answer", "accepted_answers", "match")
        if getattr(new, name) is not None
    }
    for name in sorted(given - _FIELDS_OF[new.kind]):
        raise InvalidField(f"{at}.{name}", "does not belong to this kind of question")
    if not new.prompt.strip():
        raise InvalidField(f"{at}.prompt", "must not be blank")
    question = Question(
        question_id=uuid.uuid4(),
        kind=new.kind,
        prompt=new.prompt.strip(),
        points=new.points,
    )
    if new.kind in CHOICE_KINDS:
        return _with_options(question, new, at)
    if new.kind == QuestionKind.TRUE_FALSE:
        if new.answer is None:
            raise InvalidField(f"{at}.answer", "a true_false question needs its answer")
        return replace(question, answer=new.answer)
    accepted = tuple(a.strip() for a in new.accepted_answers or () if a.strip())
    if not accepted:
        raise InvalidField(f"{at}.accepted_answers", "give at least one accepted answer")
    return replace(question, accepted_answers=accepted, match=new.match or Match.NORMALISED)


def _with_options(question: Question, new: NewQuestion, at: str) -> Question:
    options = new.options or ()
    if len(options) < 2:
        raise InvalidField(f"{at}.options", "a choice question needs at least two options")
    texts = [o.text.strip() for o in options]
    for index, text in enumerate(texts):
        if not text:
            raise InvalidField(f"{at}.options.{index}.text", "must not be blank")
        if text in texts[:index]:
            raise InvalidField(f"{at}.options.{index}.text", "the same option is given twice")
    correct = sum(o.correct for o in options)
    if question.kind == QuestionKind.SINGLE_CHOICE and correct != 1:
        raise InvalidField(
            f"{at}.options", "a single_choice question has exactly one correct option"
        )
    if correct == 0:
        raise InvalidField(f"{at}.options", "mark at least one option correct")
    built = tuple(
        Option(uuid.uuid4(), text, o.correct) for text, o in zip(texts, options, strict=True)
    )
    return replace(question, options=built)
