"""Operations on deliveries for admins: what failed for good, and sending it again."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import CursorParam, Page, PageCursors

from ..domain.commands import RetryDelivery
from ..store import queries
from .cursors import next_cursor, position
from .dependencies import UseCases
from .schemas import ChannelFilter, DeliveryOut, DeliveryStateFilter
from .views import delivery_out

router = APIRouter(prefix="/v1/admin", tags=["operations"])


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    state: DeliveryStateFilter | None = None,
    channel: ChannelFilter | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryOut]:
    """Newest first; ``state=failed`` is short for ``failed_permanent``."""
    principal.require(Role.ADMIN)
    after = position(cursors, "deliveries", cursor)
    async with runner.read() as conn:
        rows = await queries.deliveries_page(
            conn, state=state, channel=channel, learner_id=learner_id, after=after, limit=limit
        )
    return Page(
        items=[delivery_out(r) for r in rows[:limit]],
        next_cursor=next_cursor(cursors, "deliveries", rows, limit, "delivery_id"),
    )


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(
    delivery_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> DeliveryOut:
    """Put a permanently failed delivery back in the queue (e.g. after fixing an address)."""
    principal.require(Role.ADMIN)
    return delivery_out(await runner.execute(RetryDelivery(delivery_id)))
