"""Drawing an attempt's paper from the bank: which questions, in which order, options how.

The draw is a pure function of the assessment and the attempt's seed, so the same seed gives
the same paper; the paper is stored with the attempt all the same.
"""

from __future__ import annotations

import random

from .model import Assessment, DrawnQuestion


def draw(assessment: Assessment, seed: int) -> tuple[DrawnQuestion, ...]:
    rng = random.Random(seed)
    questions = list(assessment.questions)
    wanted = assessment.questions_drawn
    if wanted is not None and wanted < len(questions):
        chosen = set(rng.sample(range(len(questions)), wanted))
        questions = [q for i, q in enumerate(questions) if i in chosen]
    if assessment.shuffle_questions:
        rng.shuffle(questions)
    paper = []
    for question in questions:
        option_ids = [o.option_id for o in question.options]
        if assessment.shuffle_options:
            rng.shuffle(option_ids)
        paper.append(DrawnQuestion(question.question_id, tuple(option_ids)))
    return tuple(paper)
