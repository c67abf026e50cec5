"""A learner's course version as the services that follow it project it: the latest move
wins, whatever order the moves and the enrollment arrive in."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert


class VersionMove(Protocol):
    """What a service's command for ``course-version-changed`` carries."""

    enrollment_id: Any
    learner_id: Any
    course_id: Any
    course_version: int
    village_code: str
    move_number: int


def later_move_wins(enrollments: Table, move: VersionMove) -> Insert:
    """The upsert of ``move`` into a projection of enrollments (its columns: enrollment_id,
    learner_id, course_id, course_version, village_code, version_move): a later move than the
    last one applied wins; an earlier or repeated one changes nothing; a move that comes
    before its enrollment is kept for it."""
    statement = insert(enrollments).values(
        enrollment_id=move.enrollment_id,
        learner_id=move.learner_id,
        course_id=move.course_id,
        course_version=move.course_version,
        village_code=move.village_code,
        version_move=move.move_number,
    )
    return statement.on_conflict_do_update(
        index_elements=["enrollment_id"],
        set_={
            "course_version": statement.excluded.course_version,
            "version_move": statement.excluded.version_move,
        },
        where=enrollments.c.version_move < statement.excluded.version_move,
    )
