"""Drawing papers from the bank (deterministic per seed) and the rules a bank must follow."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from assessment.domain.authoring import build_assessment
from assessment.domain.commands import CreateAssessment, NewOption, NewQuestion
from assessment.domain.drawing import draw
from assessment.domain.errors import InvalidField
from assessment.domain.model import Assessment, AssessmentKind, Match, QuestionKind

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def choice(n: int, kind: QuestionKind = QuestionKind.SINGLE_CHOICE) -> NewQuestion:
    return NewQuestion(
        kind=kind,
        prompt=f"Pertanyaan {n}",
        options=(
            NewOption(f"benar {n}", True),
            NewOption(f"salah {n}a"),
            NewOption(f"salah {n}b"),
            NewOption(f"salah {n}c"),
        ),
    )


def command(*questions: NewQuestion, **changes: object) -> CreateAssessment:
    base = CreateAssessment(
        course_id=uuid.uuid4(),
        kind=AssessmentKind.POST_TEST,
        title="  Post-test  ",
        pass_score=70,
        max_attempts=3,
        time_limit_seconds=600,
        questions_drawn=None,
        shuffle_questions=True,
        shuffle_options=True,
        questions=questions or tuple(choice(n) for n in range(10)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def built(**changes: object) -> Assessment:
    return build_assessment(command(**changes), uuid.uuid4(), NOW)


def test_the_same_seed_draws_the_same_paper_and_other_seeds_differ() -> None:
    assessment = built(questions_drawn=5)
    assert draw(assessment, 42) == draw(assessment, 42)
    papers = {draw(assessment, seed) for seed in range(20)}
    assert len(papers) > 15


def test_drawing_n_questions_takes_n_distinct_questions_of_the_bank() -> None:
    assessment = built(questions_drawn=4)
    bank = {q.question_id for q in assessment.questions}
    for seed in range(30):
        paper = draw(assessment, seed)
        ids = [d.question_id for d in paper]
        assert len(ids) == 4 and len(set(ids)) == 4 and set(ids) <= bank
    drawn_somewhere = {d.question_id for seed in range(60) for d in draw(assessment, seed)}
    assert drawn_somewhere == bank


def test_without_shuffling_the_paper_keeps_the_bank_order() -> None:
    assessment = built(shuffle_questions=False, shuffle_options=False, questions_drawn=3)
    order = [q.question_id for q in assessment.questions]
    for seed in range(10):
        paper = draw(assessment, seed)
        positions = [order.index(d.question_id) for d in paper]
        assert positions == sorted(positions)
        for drawn in paper:
            question = assessment.question(drawn.question_id)
            assert question is not None
            assert drawn.option_ids == tuple(o.option_id for o in question.options)


def test_shuffling_reorders_questions_and_options_but_keeps_every_option() -> None:
    assessment = built()
    order = [q.question_id for q in assessment.questions]
    papers = [draw(assessment, seed) for seed in range(10)]
    assert any([d.question_id for d in paper] != order for paper in papers)
    first = assessment.questions[0]
    layouts = {
        next(d for d in paper if d.question_id == first.question_id).option_ids for paper in papers
    }
    assert len(layouts) > 1
    assert all(set(layout) == {o.option_id for o in first.options} for layout in layouts)


def test_true_false_and_short_answer_questions_have_no_options_on_the_paper() -> None:
    assessment = built(
        questions=(
            NewQuestion(QuestionKind.TRUE_FALSE, "Benar?", answer=True),
            NewQuestion(QuestionKind.SHORT_ANSWER, "Singkatan?", accepted_answers=("APBDes",)),
        )
    )
    assert all(d.option_ids == () for d in draw(assessment, 7))


def test_a_built_assessment_has_ids_trimmed_text_and_normalised_match_by_default() -> None:
    assessment = built(
        questions=(
            choice(1, QuestionKind.MULTIPLE_CHOICE),
            NewQuestion(
                QuestionKind.SHORT_ANSWER, " Singkatan? ", accepted_answers=(" APBDes ", " ")
            ),
        )
    )
    assert assessment.title == "Post-test"
    short = assessment.questions[1]
    assert short.prompt == "Singkatan?" and short.accepted_answers == ("APBDes",)
    assert short.match == Match.NORMALISED
    ids = [o.option_id for o in assessment.questions[0].options]
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    ("question", "field"),
    [
        (NewQuestion(QuestionKind.SINGLE_CHOICE, "?", options=(NewOption("a", True),)), "options"),
        (
            NewQuestion(
                QuestionKind.SINGLE_CHOICE,
                "?",
                options=(NewOption("a", True), NewOption("b", True)),
            ),
            "options",
        ),
        (
            NewQuestion(
                QuestionKind.MULTIPLE_CHOICE, "?", options=(NewOption("a"), NewOption("b"))
            ),
            "options",
        ),
        (
            NewQuestion(
                QuestionKind.SINGLE_CHOICE, "?", options=(NewOption("a", True), NewOption(" a "))
            ),
            "options.1.text",
        ),
        (NewQuestion(QuestionKind.TRUE_FALSE, "?"), "answer"),
        (NewQuestion(QuestionKind.TRUE_FALSE, "?", answer=True, options=()), "options"),
        (NewQuestion(QuestionKind.SHORT_ANSWER, "?", accepted_answers=(" ",)), "accepted_answers"),
        (
            NewQuestion(QuestionKind.SHORT_ANSWER, "?", accepted_answers=("x",), answer=True),
            "answer",
        ),
        (NewQuestion(QuestionKind.TRUE_FALSE, "   ", answer=True), "prompt"),
    ],
)
def test_a_broken_question_is_refused_naming_its_field(question: NewQuestion, field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        built(questions=(choice(0), question))
    assert refused.value.field == f"questions.1.{field}"


def test_drawing_more_questions_than_the_bank_holds_is_refused() -> None:
    with pytest.raises(InvalidField) as refused:
        built(questions=(choice(0), choice(1)), questions_drawn=3)
    assert refused.value.field == "questions_drawn"
