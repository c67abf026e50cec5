"""What a learner still lacks to complete a course, said to them in the request's language
(Bahasa Indonesia unless ``Accept-Language`` asks for English; texts in the catalogs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from servicekit.i18n import text

from ..domain.completion import Missing, Requirement


def explain(missing: Iterable[Missing]) -> str:
    """One sentence per kind of requirement still missing."""
    missing = list(missing)
    if not missing:
        return _said("all_met")
    sentences = []
    prerequisites = [m for m in missing if m.requirement == Requirement.PREREQUISITE]
    if prerequisites:
        sentences.append(_said("prerequisites", names=_names(prerequisites)))
    if any(m.requirement == Requirement.PRE_TEST for m in missing):
        sentences.append(_said("pre_test"))
    lessons = [m for m in missing if m.requirement == Requirement.REQUIRED_LESSON]
    if lessons:
        sentences.append(_said("required_lessons", count=len(lessons), names=_names(lessons)))
    for m in missing:
        if m.requirement == Requirement.POST_TEST:
            minimum = m.min_score
            sentences.append(
                _said("post_test_min", min_score=minimum) if minimum else _said("post_test")
            )
        elif m.requirement == Requirement.POST_TEST_SCORE:
            sentences.append(
                _said("post_test_score", min_score=m.min_score or 0, best_score=m.best_score or 0)
            )
    return " ".join(sentences)


def withdrawn() -> str:
    return _said("withdrawn")


def _names(missing: Iterable[Missing]) -> str:
    untitled = _said("untitled")
    return ", ".join(f'"{m.title}"' if m.title else untitled for m in missing)


def _said(key: str, **params: Any) -> str:
    return text("completion", key, **params) or key
