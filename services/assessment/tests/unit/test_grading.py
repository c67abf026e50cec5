"""Grading of every question kind, and answers that do not fit the paper."""

import uuid
from datetime import UTC, datetime

import pytest

from assessment.domain.drawing import draw
from assessment.domain.errors import InvalidField
from assessment.domain.grading import check_answers, grade, is_correct, normalise
from assessment.domain.model import (
    Answer,
    Assessment,
    AssessmentKind,
    Match,
    Option,
    Question,
    QuestionKind,
)

RIGHT, WRONG, ALSO_RIGHT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def single() -> Question:
    return Question(
        uuid.uuid4(),
        QuestionKind.SINGLE_CHOICE,
        "Siapa menetapkan APBDes?",
        options=(Option(RIGHT, "Kepala desa bersama BPD", True), Option(WRONG, "Camat", False)),
    )


def multiple() -> Question:
    return Question(
        uuid.uuid4(),
        QuestionKind.MULTIPLE_CHOICE,
        "Pelayanan administrasi desa:",
        points=2,
        options=(
            Option(RIGHT, "Surat keterangan domisili", True),
            Option(ALSO_RIGHT, "Surat pengantar nikah", True),
            Option(WRONG, "Paspor", False),
        ),
    )


def true_false(answer: bool = True) -> Question:
    return Question(uuid.uuid4(), QuestionKind.TRUE_FALSE, "APBDes lewat perdes.", answer=answer)


def short(match: Match = Match.NORMALISED, *accepted: str) -> Question:
    return Question(
        uuid.uuid4(),
        QuestionKind.SHORT_ANSWER,
        "Singkatan APB desa?",
        accepted_answers=accepted or ("APBDes",),
        match=match,
    )


def bank_of(*questions: Question) -> Assessment:
    return Assessment(
        assessment_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        kind=AssessmentKind.POST_TEST,
        title="Post-test",
        pass_score=70,
        max_attempts=3,
        time_limit_seconds=600,
        questions_drawn=None,
        shuffle_questions=False,
        shuffle_options=False,
        questions=questions,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_single_choice_scores_only_the_correct_option() -> None:
    q = single()
    assert is_correct(q, Answer(q.question_id, option_ids=(RIGHT,)))
    assert not is_correct(q, Answer(q.question_id, option_ids=(WRONG,)))
    assert not is_correct(q, Answer(q.question_id, option_ids=()))
    assert not is_correct(q, None)


@pytest.mark.parametrize(
    ("chosen", "right"),
    [
        ((RIGHT, ALSO_RIGHT), True),
        ((ALSO_RIGHT, RIGHT), True),
        ((RIGHT,), False),
        ((RIGHT, ALSO_RIGHT, WRONG), False),
        ((), False),
    ],
)
def test_multiple_choice_needs_exactly_the_correct_set(
    chosen: tuple[uuid.UUID, ...], right: bool
) -> None:
    q = multiple()
    assert is_correct(q, Answer(q.question_id, option_ids=chosen)) is right


def test_true_false_compares_the_value() -> None:
    yes, no = true_false(True), true_false(False)
    assert is_correct(yes, Answer(yes.question_id, value=True))
    assert not is_correct(yes, Answer(yes.question_id, value=False))
    assert is_correct(no, Answer(no.question_id, value=False))


@pytest.mark.parametrize(
    "given", ["APBDes", "apbdes", "  A.P.B.Des ", "APBDES!", "apbdés", "apb-des"]
)
def test_normalised_short_answer_ignores_case_accents_punctuation_and_spaces(given: str) -> None:
    q = short(Match.NORMALISED, "APBDes")
    assert is_correct(q, Answer(q.question_id, text=given))


def test_normalised_match_still_needs_the_same_letters() -> None:
    q = short(Match.NORMALISED, "Kepala Desa", "Kades")
    assert normalise("  Kepala-Desa! ") == normalise("KEPALADESA") == "kepaladesa"
    assert is_correct(q, Answer(q.question_id, text="kades"))
    assert not is_correct(q, Answer(q.question_id, text="kepala dusun"))
    assert not is_correct(q, Answer(q.question_id, text=" !! "))
    assert not is_correct(q, Answer(q.question_id, text=""))


def test_exact_short_answer_is_case_sensitive_but_trims_the_ends() -> None:
    q = short(Match.EXACT, "APBDes", "Anggaran Desa")
    assert is_correct(q, Answer(q.question_id, text=" APBDes "))
    assert is_correct(q, Answer(q.question_id, text="Anggaran Desa"))
    assert not is_correct(q, Answer(q.question_id, text="apbdes"))


def test_grade_adds_points_of_right_answers_and_counts_unanswered_as_zero() -> None:
    s, m, t = single(), multiple(), true_false()
    assessment = bank_of(s, m, t)
    paper = draw(assessment, seed=1)
    points, possible = grade(
        assessment,
        paper,
        (
            Answer(m.question_id, option_ids=(RIGHT, ALSO_RIGHT)),
            Answer(t.question_id, value=False),
        ),
    )
    assert (points, possible) == (2.0, 4.0)


def test_answers_to_questions_not_drawn_are_refused_naming_the_field() -> None:
    s, t = single(), true_false()
    assessment = bank_of(s, t)
    paper = draw(assessment, seed=1)
    stranger = uuid.uuid4()
    with pytest.raises(InvalidField) as refused:
        check_answers(
            assessment, paper, (Answer(s.question_id, option_ids=(RIGHT,)), Answer(stranger))
        )
    assert refused.value.field == "answers.1.question_id"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (lambda s, t: Answer(s.question_id, value=True), "answers.0.value"),
        (lambda s, t: Answer(s.question_id), "answers.0.option_ids"),
        (lambda s, t: Answer(s.question_id, option_ids=(uuid.uuid4(),)), "answers.0.option_ids"),
        (lambda s, t: Answer(s.question_id, option_ids=(RIGHT, WRONG)), "answers.0.option_ids"),
        (lambda s, t: Answer(t.question_id, text="ya"), "answers.0.text"),
        (lambda s, t: Answer(t.question_id), "answers.0.value"),
    ],
)
def test_answers_of_the_wrong_shape_are_refused_naming_the_field(answer, field) -> None:  # type: ignore[no-untyped-def]
    s, t = single(), true_false()
    assessment = bank_of(s, t)
    with pytest.raises(InvalidField) as refused:
        check_answers(assessment, draw(assessment, seed=1), (answer(s, t),))
    assert refused.value.field == field


def test_a_question_answered_twice_is_refused() -> None:
    t = true_false()
    assessment = bank_of(t)
    twice = (Answer(t.question_id, value=True), Answer(t.question_id, value=False))
    with pytest.raises(InvalidField) as refused:
        check_answers(assessment, draw(assessment, seed=1), twice)
    assert refused.value.field == "answers.1.question_id"


def test_repeated_options_count_once() -> None:
    m = multiple()
    assessment = bank_of(m)
    cleaned = check_answers(
        assessment,
        draw(assessment, seed=1),
        (Answer(m.question_id, option_ids=(RIGHT, RIGHT, ALSO_RIGHT)),),
    )
    assert cleaned[0].option_ids == (RIGHT, ALSO_RIGHT)
