"""An endpoint's deliveries: the log, one delivery with its attempts, the dead letters and
sending them again, and replaying from a point in time. Admins only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import CursorParam, Cursors, Page, PageCursors

from ..domain import commands
from ..domain.errors import DeliveryNotFound, EndpointNotFound
from ..domain.model import DeliveryStatus
from ..store import queries
from .dependencies import UseCases
from .schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatusFilter,
    Queued,
    RedeliverIn,
    ReplayIn,
)
from .views import delivery_detail, delivery_out

router = APIRouter(prefix="/v1/webhooks/endpoints/{endpoint_id}", tags=["deliveries"])
Limit = Annotated[int, Query(ge=1, le=200)]


def _before(cursors: Cursors, listing: str, cursor: str | None) -> int | None:
    found = cursors.decode(listing, cursor, "seq")
    return int(found["seq"]) if found else None


async def _page(
    runner: UseCases,
    cursors: Cursors,
    listing: str,
    endpoint_id: uuid.UUID,
    status: str | None,
    learner_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[DeliveryOut]:
    async with runner.read() as conn:
        if await queries.endpoint(conn, endpoint_id) is None:
            raise EndpointNotFound(endpoint_id)
        rows = await queries.deliveries_page(
            conn,
            endpoint_id,
            status=status,
            learner_id=learner_id,
            before_seq=_before(cursors, listing, cursor),
            limit=limit,
        )
    shown = rows[:limit]
    next_cursor = cursors.encode(listing, seq=str(shown[-1].seq)) if len(rows) > limit else None
    return Page(items=[delivery_out(r) for r in shown], next_cursor=next_cursor)


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    endpoint_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    status: DeliveryStatusFilter | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> Page[DeliveryOut]:
    """The delivery log, the latest event first."""
    principal.require(Role.ADMIN)
    return await _page(
        runner, cursors, "deliveries", endpoint_id, status, learner_id, cursor, limit
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> DeliveryDetail:
    """One delivery with every attempt: when, the status code or error, how long it took."""
    principal.require(Role.ADMIN)
    async with runner.read() as conn:
        row = await queries.delivery(conn, endpoint_id, delivery_id)
        if row is None:
            raise DeliveryNotFound(delivery_id)
        return delivery_detail(row, await queries.attempts_of(conn, delivery_id))


@router.get("/dead-letters", response_model=Page[DeliveryOut])
async def list_dead_letters(
    endpoint_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    learner_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> Page[DeliveryOut]:
    """Deliveries that were not accepted within the retry window."""
    principal.require(Role.ADMIN)
    dead = DeliveryStatus.DEAD.value
    return await _page(
        runner, cursors, "dead-letters", endpoint_id, dead, learner_id, cursor, limit
    )


@router.post("/dead-letters/{delivery_id}/redeliver", response_model=DeliveryOut)
async def redeliver(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> DeliveryOut:
    """Queue a dead letter again, with a fresh retry window and the same webhook-id."""
    principal.require(Role.ADMIN)
    return delivery_out(await runner.execute(commands.Redeliver(endpoint_id, delivery_id)))


@router.post("/dead-letters/redeliver", response_model=Queued)
async def redeliver_all(
    endpoint_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    body: RedeliverIn | None = None,
) -> Queued:
    """Queue every dead letter of the endpoint again (those queued since ``since``)."""
    principal.require(Role.ADMIN)
    since = body.since if body else None
    count = await runner.execute(commands.RedeliverDeadLetters(endpoint_id, since))
    return Queued(queued=count)


@router.post("/replay", status_code=202, response_model=Queued)
async def replay(
    endpoint_id: uuid.UUID, body: ReplayIn, principal: CurrentPrincipal, runner: UseCases
) -> Queued:
    """Queue again every kept event of the endpoint's region and types that occurred since
    ``since`` (until ``until``): events it never had, and those it had, with the same
    webhook-id, so a receiver that kept them can tell."""
    principal.require(Role.ADMIN)
    count = await runner.execute(commands.Replay(endpoint_id, body.since, body.until))
    return Queued(queued=count)
