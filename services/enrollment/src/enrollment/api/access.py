"""Who may see what: regions for supervisors, their own records for learners, all for admins."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import Principal
from servicekit.problems import Problem

from ..domain.model import Learner
from ..store import queries


def require_region(principal: Principal, village_code: str) -> None:
    if not principal.covers_region(village_code):
        raise Problem(403, "outside_region", "this village is outside your region")


async def visible_learner(
    conn: AsyncConnection, learner_id: uuid.UUID, principal: Principal
) -> Learner:
    """The learner, if the caller may see them; else the same 404 as for nobody at all."""
    learner = await queries.learner(conn, learner_id)
    if learner is None or not principal.may_see_learner(learner.learner_id, learner.village_code):
        raise Problem(404, "learner_not_found", "no learner with this id is visible to you")
    return learner


async def visible_enrollment(
    conn: AsyncConnection, enrollment_id: uuid.UUID, principal: Principal
) -> Row[Any]:
    row = await queries.enrollment_with_village(conn, enrollment_id)
    if row is None or not principal.may_see_learner(row.learner_id, row.village_code):
        raise Problem(404, "enrollment_not_found", "no enrollment with this id is visible to you")
    return row
