"""Learners: register, list, read and change them."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.fields import RegionCode
from servicekit.pagination import CursorParam, Page, PageCursors
from servicekit.problems import Problem
from servicekit.runner import Idempotency, IdempotencyKey, View

from ..domain import commands
from ..domain.model import EnrollmentStatus, Learner, Position
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from .access import contact_reads, learner_reads, require_region, viewer_of, visible_learner
from .dependencies import CurrentSettings, UseCases
from .schemas import LearnerIn, LearnerOut, LearnerPatch
from .views import learner_out, may_see_contact

router = APIRouter(prefix="/v1", tags=["enrollment"])


def nik_digest(key: str, nik: str) -> str:
    """The NIK is kept only as this keyed hash: enough to refuse a second registration."""
    return hmac.new(key.encode(), nik.encode(), hashlib.sha256).hexdigest()


def shown_to(principal: Principal) -> View[SqlUnitOfWork]:
    def view(learner: Learner, uow: SqlUnitOfWork) -> dict[str, Any]:
        return learner_out(learner, principal).model_dump(mode="json")

    return view


@router.post("/learners", status_code=201, response_model=LearnerOut)
async def register_learner(
    body: LearnerIn,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    settings: CurrentSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    require_region(principal, body.village_code)
    command = commands.RegisterLearner(
        full_name=body.full_name,
        position=body.position,
        village_code=body.village_code,
        phone=body.phone,
        email=body.email,
        nik_hash=nik_digest(settings.nik_hash_key, body.nik) if body.nik else None,
    )
    return await runner.respond(
        command,
        shown_to(principal),
        status=201,
        idempotency=Idempotency(
            idempotency_key, f"learners:{principal.subject}", body.model_dump(mode="json")
        ),
        records=learner_reads(viewer_of(principal, request)),
    )


def region_in_view(principal: Principal, region_code: str | None) -> str:
    """The region a listing covers: the one asked for if the caller covers it, else all the
    caller sees (the country for admins, their region for supervisors)."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    if region_code is None:
        return principal.region_in_view or ""
    principal.require_region(region_code)
    return region_code


@router.get("/learners", response_model=Page[LearnerOut])
async def list_learners(
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    region_code: Annotated[RegionCode | None, Query()] = None,
    position: Position | None = None,
    course_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[LearnerOut]:
    scope = region_in_view(principal, region_code)
    after = cursors.decode("learners", cursor, "v", "id")
    async with runner.database.transaction() as tx:
        found = await queries.learners_page(
            tx.conn,
            region_code=scope,
            position=position,
            course_id=course_id,
            status=status,
            after=(after["v"], uuid.UUID(after["id"])) if after else None,
            limit=limit,
        )
        items = [learner_out(learner, principal) for learner in found[:limit]]
        await runner.apply(tx, contact_reads(viewer_of(principal, request), items))
    last = found[limit - 1] if len(found) > limit else None
    next_cursor = (
        cursors.encode("learners", v=last.village_code, id=str(last.learner_id)) if last else None
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/learners/{learner_id}", response_model=LearnerOut)
async def get_learner(
    learner_id: uuid.UUID, request: Request, principal: CurrentPrincipal, runner: UseCases
) -> LearnerOut:
    """The learner; their contact for themself and admins (an admin's read is logged)."""
    async with runner.database.transaction() as tx:
        item = learner_out(await visible_learner(tx.conn, learner_id, principal), principal)
        await runner.apply(tx, contact_reads(viewer_of(principal, request), [item]))
    return item


@router.patch("/learners/{learner_id}", response_model=LearnerOut)
async def update_learner(
    learner_id: uuid.UUID,
    body: LearnerPatch,
    request: Request,
    principal: CurrentPrincipal,
    runner: UseCases,
) -> JSONResponse:
    async with runner.read() as conn:
        learner = await visible_learner(conn, learner_id, principal)
    changes = body.model_dump(exclude_unset=True)
    is_self = principal.learner_id == learner_id and not principal.has(Role.ADMIN, Role.SUPERVISOR)
    if is_self and set(changes) - {"phone", "email"}:
        raise Problem(403, "forbidden", "learners may change only their own phone and e-mail")
    unreadable = sorted({"phone", "email"} & set(changes))
    if unreadable and not may_see_contact(principal, learner_id):
        raise Problem(
            403,
            "forbidden_field",
            f"{', '.join(unreadable)}: only the learner and admins may change contact details",
            errors=[{"field": f, "message": "not yours to change"} for f in unreadable],
        )
    if body.village_code and not is_self:
        require_region(principal, body.village_code)
    command = commands.UpdateLearner(
        learner_id=learner.learner_id,
        full_name=body.full_name,
        position=body.position,
        village_code=body.village_code,
        phone=body.phone,
        email=body.email,
        clear_phone="phone" in changes and body.phone is None,
        clear_email="email" in changes and body.email is None,
    )
    return await runner.respond(
        command, shown_to(principal), records=learner_reads(viewer_of(principal, request))
    )
