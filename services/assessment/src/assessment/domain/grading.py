"""Checking answers against an attempt's paper and grading them on the server.

Single choice and true/false score when right; multiple choice scores only when exactly the
correct set is chosen (no partial credit, so ticking every box never pays); short answers
match one accepted answer exactly (ends trimmed) or after normalising, which ignores case,
accents, punctuation and spacing.
An unanswered question scores zero.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable

from .errors import InvalidField
from .model import CHOICE_KINDS, Answer, Assessment, DrawnQuestion, Match, Question, QuestionKind

_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The comparison key: '  Kepala-Desa! ', 'kepala desa' and 'KEPALADESA' are one answer,
    and so are 'é' and 'e'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTER_OR_DIGIT.sub("", plain)


def is_correct(question: Question, answer: Answer | None) -> bool:
    if answer is None:
        return False
    if question.kind in CHOICE_KINDS:
        correct = {o.option_id for o in question.options if o.correct}
        return set(answer.option_ids or ()) == correct
    if question.kind == QuestionKind.TRUE_FALSE:
        return answer.value is not None and answer.value == question.answer
    given = answer.text or ""
    if question.match == Match.EXACT:
        return given.strip() in {a.strip() for a in question.accepted_answers}
    return bool(normalise(given)) and normalise(given) in {
        normalise(a) for a in question.accepted_answers
    }


def max_points(assessment: Assessment, paper: Iterable[DrawnQuestion]) -> float:
    return float(sum(_question(assessment, d).points for d in paper))


def grade(
    assessment: Assessment, paper: tuple[DrawnQuestion, ...], answers: tuple[Answer, ...]
) -> tuple[float, float]:
    """Points earned and points possible on this paper."""
    by_question = {a.question_id: a for a in answers}
    earned = sum(
        _question(assessment, d).points
        for d in paper
        if is_correct(_question(assessment, d), by_question.get(d.question_id))
    )
    return float(earned), max_points(assessment, paper)


def _question(assessment: Assessment, drawn: DrawnQuestion) -> Question:
    question = assessment.question(drawn.question_id)
    if question is None:  # papers are drawn from the bank, which never changes
        raise LookupError(f"question {drawn.question_id} is not in the bank")
    return question


def check_answers(
    assessment: Assessment, paper: tuple[DrawnQuestion, ...], answers: tuple[Answer, ...]
) -> tuple[Answer, ...]:
    """Refuse answers that do not fit the paper, naming the field; return them cleaned."""
    drawn = {d.question_id: d for d in paper}
    seen: set[uuid.UUID] = set()
    cleaned = []
    for index, answer in enumerate(answers):
        at = f"answers.{index}"
        if answer.question_id not in drawn:
            raise InvalidField(f"{at}.question_id", "this question is not on the attempt's paper")
        if answer.question_id in seen:
            raise InvalidField(f"{at}.question_id", "this question is answered twice")
        seen.add(answer.question_id)
        question = _question(assessment, drawn[answer.question_id])
        cleaned.append(_check_one(question, drawn[answer.question_id], answer, at))
    return tuple(cleaned)


def _check_one(question: Question, drawn: DrawnQuestion, answer: Answer, at: str) -> Answer:
    expected = {
        QuestionKind.SINGLE_CHOICE: "option_ids",
        QuestionKind.MULTIPLE_CHOICE: "option_ids",
        QuestionKind.TRUE_FALSE: "value",
        QuestionKind.SHORT_ANSWER: "text",
    }[question.kind]
    given = {
        name
        for name, value in (
            ("option_ids", answer.option_ids),
            ("value", answer.value),
            ("text", answer.text),
        )
        if value is not None
    }
    for name in sorted(given - {expected}):
        raise InvalidField(f"{at}.{name}", "does not fit this kind of question")
    if expected not in given:
        raise InvalidField(f"{at}.{expected}", "this kind of question needs it")
    if question.kind not in CHOICE_KINDS:
        return answer
    chosen = tuple(dict.fromkeys(answer.option_ids or ()))
    unknown = [o for o in chosen if o not in drawn.option_ids]
    if unknown:
        raise InvalidField(f"{at}.option_ids", "names an option this question does not have")
    if question.kind == QuestionKind.SINGLE_CHOICE and len(chosen) > 1:
        raise InvalidField(f"{at}.option_ids", "a single-choice question takes one option")
    return Answer(answer.question_id, option_ids=chosen)
