"""Who may see what: regions for supervisors, their own records for learners, all for admins;
and who was shown whose contact details, for the access log (ADR 22)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import Principal, Role
from servicekit.middleware import route_template
from servicekit.problems import Problem
from servicekit.runner import Records

from ..domain.commands import RecordContactReads
from ..domain.model import Learner, Viewer
from ..store import queries
from .schemas import LearnerOut

# the role a read is logged under: the strongest the caller holds
STRONGEST_FIRST = (Role.ADMIN, Role.SUPERVISOR, Role.INSTRUCTOR, Role.LEARNER)


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


def viewer_of(principal: Principal, request: Request) -> Viewer:
    """The caller as the access log names them, and the route (its template: no id or filter
    of the request)."""
    route = route_template(request.scope)
    role = next((r for r in STRONGEST_FIRST if principal.has(r)), None)
    return Viewer(
        subject=principal.subject,
        role=role.value if role else "",
        region_code=principal.region_code,
        route=f"{request.method} {route}",
        learner_id=principal.learner_id,
    )


def contact_reads(viewer: Viewer, shown: Iterable[LearnerOut]) -> RecordContactReads:
    """The learners of an answer whose phone or e-mail it shows."""
    return RecordContactReads(
        viewer, tuple(item.learner_id for item in shown if item.phone or item.email)
    )


def learner_reads(viewer: Viewer) -> Records:
    """For an answer showing one learner (and each replay of it): its contact read, if any."""
    return lambda body: [contact_reads(viewer, [LearnerOut.model_validate(body)])]
