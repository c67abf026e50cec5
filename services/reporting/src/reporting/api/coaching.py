"""Coaching: the inactive list with course, progress, village and contact; a learner's
contact; the log of who read whose contact (UU PDP No. 27/2022, ADR 22).

Contact details are shown to admins and to supervisors of the learner's region (the routes
refuse any other region first), and each read is logged in the transaction that reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.fields import RegionCode as RegionCodeField
from servicekit.i18n import position_name
from servicekit.middleware import route_template
from servicekit.pagination import CursorParam, PageCursors

from ..domain.errors import LearnerNotFound
from ..store import coaching, queries
from .dependencies import ReportingRuntime, ServiceRuntime

router = APIRouter(prefix="/v1/reports", tags=["coaching"])
Days = Annotated[int, Query(ge=1, le=365)]


def reader(principal: Principal, request: Request) -> coaching.ContactRead:
    """Who reads, through which route (its template: no id or filter of the request)."""
    route = route_template(request.scope)
    role = Role.ADMIN if principal.has(Role.ADMIN) else Role.SUPERVISOR
    return coaching.ContactRead(
        principal.subject, role.value, principal.region_code, f"{request.method} {route}"
    )


@asynccontextmanager
async def logged(
    runtime: ReportingRuntime, principal: Principal, request: Request
) -> AsyncIterator[tuple[AsyncConnection, list[uuid.UUID]]]:
    """A transaction whose caller lists the learners whose contact it shows: they are logged
    before it commits, and nothing is shown if logging fails."""
    shown: list[uuid.UUID] = []
    async with runtime.database.transaction() as tx:
        yield tx.conn, shown
        await coaching.log_contact_reads(
            tx.conn, reader(principal, request), shown, runtime.clock()
        )


def sees_contacts(principal: Principal) -> bool:
    return principal.has(Role.ADMIN, Role.SUPERVISOR)


def inactive_item(row: Any, now: datetime, contact: bool) -> dict[str, Any]:
    since = row.last_activity_at or row.profile_at
    progress = None
    if row.course_id is not None and row.lessons:
        progress = round(min(row.lessons_done / row.lessons, 1.0), 4)
    item = {
        "learner_id": str(row.learner_id),
        "full_name": row.full_name,
        "village_code": row.village_code,
        "village_name": row.village_name,
        "position": row.position,
        "position_name": position_name(row.position) if row.position else None,
        "last_activity_at": row.last_activity_at,
        "days_inactive": (now - since).days if since else None,
        "course_id": str(row.course_id) if row.course_id else None,
        "course_title": row.course_title,
        "lessons_done": row.lessons_done if row.course_id else None,
        "lessons": row.lessons,
        "progress": progress,
    }
    if contact:
        item["phone"], item["email"] = row.phone, row.email
    return item


async def inactive_list(
    runtime: ReportingRuntime,
    principal: Principal,
    request: Request,
    region_code: str,
    days: int,
    *,
    course_id: uuid.UUID | None = None,
    limit: int = 50,
    after: coaching.InactivePosition | None = None,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The rows of the inactive list (the API's items, the export's rows) and the raw rows
    (for the cursor); the caller has checked the region. Contacts shown are logged."""
    principal.require_region(region_code)
    now = runtime.clock()
    contact = sees_contacts(principal)
    async with logged(runtime, principal, request) as (conn, shown):
        rows = await coaching.inactive_rows(
            conn, region_code, days, now, course_id=course_id, limit=limit, after=after
        )
        if contact:
            shown.extend(r.learner_id for r in rows if r.phone or r.email)
    return [inactive_item(r, now, contact) for r in rows], rows


@router.get("/inactive")
async def inactive_learners(
    request: Request,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    cursors: PageCursors,
    region_code: Annotated[RegionCodeField, Query()],
    days: Days = 14,
    course_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Learners to coach: registered in the region, no activity for ``days``, longest
    inactive first, a row per open course (``course_id`` keeps one), with progress, village
    name and, for the region's supervisors and admins, phone and e-mail (each read logged)."""
    after = cursors.decode("inactive", cursor, "at", "id", "course")
    position = None
    if after:
        at, learner, course = after["at"], after["id"], after["course"]
        position = (datetime.fromisoformat(at), uuid.UUID(learner), uuid.UUID(course))
    items, rows = await inactive_list(
        runtime,
        principal,
        request,
        region_code,
        days,
        course_id=course_id,
        limit=limit + 1,
        after=position,
    )
    next_cursor = None
    if len(rows) > limit:
        edge = rows[limit - 1]
        next_cursor = cursors.encode(
            "inactive",
            at=edge.last.isoformat(),
            id=str(edge.learner_id),
            course=str(edge.course_key),
        )
    return {
        "region_code": region_code,
        "days": days,
        "items": items[:limit],
        "next_cursor": next_cursor,
    }


@router.get("/contacts/{learner_id}")
async def learner_contact(
    learner_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> dict[str, Any]:
    """A learner's phone and e-mail, for admins and the supervisors of their region (404
    otherwise, as for an unknown learner); the read is logged."""
    async with logged(runtime, principal, request) as (conn, shown):
        learner = await queries.learner(conn, learner_id)
        if learner is None or not learner.village_code:
            raise LearnerNotFound()
        village_code = learner.village_code
        if not sees_contacts(principal) or not principal.covers_region(village_code):
            raise LearnerNotFound()
        found = await coaching.contact_of(conn, learner_id)
        shown.append(learner_id)
    return {
        "learner_id": str(learner_id),
        "full_name": learner.full_name,
        "village_code": village_code,
        "phone": found.phone if found else None,
        "email": found.email if found else None,
    }


@router.get("/contact-access")
async def contact_access_log(
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    cursors: PageCursors,
    learner_id: uuid.UUID | None = None,
    viewer: Annotated[str | None, Query(max_length=200, pattern=r"^[\x21-\x7e]+$")] = None,
    since: AwareDatetime | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Who read whose contact details, when and through which route (admins), newest first."""
    principal.require(Role.ADMIN)
    after = cursors.decode("contact-access", cursor, "at", "id")
    position = (datetime.fromisoformat(after["at"]), int(after["id"])) if after else None
    async with runtime.runner.read() as conn:
        rows = await coaching.contact_reads_page(
            conn, learner_id=learner_id, viewer=viewer, since=since, after=position, limit=limit + 1
        )
    next_cursor = None
    if len(rows) > limit:
        edge = rows[limit - 1]
        next_cursor = cursors.encode(
            "contact-access", at=edge.read_at.isoformat(), id=str(edge.read_id)
        )
    return {
        "items": [
            {
                "read_at": r.read_at,
                "viewer": r.viewer,
                "viewer_role": r.viewer_role,
                "viewer_region": r.viewer_region,
                "learner_id": str(r.learner_id),
                "route": r.route,
            }
            for r in rows[:limit]
        ],
        "next_cursor": next_cursor,
    }
