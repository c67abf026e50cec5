"""Operations on deliveries for admins: what failed for good, and sending it again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import and_, func, or_, select, update

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import Page, decode_cursor, encode_cursor
from servicekit.problems import Problem, field_problem
from servicekit.service import DatabaseDep

from ..domain.model import DeliveryState
from ..store.tables import deliveries
from .schemas import ChannelFilter, DeliveryOut, DeliveryStateFilter

router = APIRouter(prefix="/v1/admin", tags=["operations"])


def delivery_out(row: Any) -> DeliveryOut:
    pending = row.state == DeliveryState.PENDING.value
    return DeliveryOut(
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        event_type=row.event_type,
        channel=row.channel,
        learner_id=row.learner_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _after(cursor: str | None) -> Any:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        created_at = datetime.fromisoformat(position["t"])
        delivery_id = uuid.UUID(position["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise field_problem("cursor", "not a cursor returned by this API") from exc
    return or_(
        deliveries.c.created_at < created_at,
        and_(deliveries.c.created_at == created_at, deliveries.c.delivery_id < delivery_id),
    )


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    principal: CurrentPrincipal,
    database: DatabaseDep,
    state: DeliveryStateFilter | None = None,
    channel: ChannelFilter | None = None,
    learner_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryOut]:
    """Newest first; ``state=failed`` is short for ``failed_permanent``."""
    principal.require(Role.ADMIN)
    query = select(deliveries)
    if state is not None:
        wanted = DeliveryState.FAILED_PERMANENT.value if state == "failed" else state
        query = query.where(deliveries.c.state == wanted)
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    if learner_id is not None:
        query = query.where(deliveries.c.learner_id == learner_id)
    after = _after(cursor)
    if after is not None:
        query = query.where(after)
    query = query.order_by(deliveries.c.created_at.desc(), deliveries.c.delivery_id.desc())
    async with database.read() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).all()
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "id": str(last.delivery_id)})
    return Page(items=[delivery_out(r) for r in rows[:limit]], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(
    delivery_id: uuid.UUID, principal: CurrentPrincipal, database: DatabaseDep
) -> DeliveryOut:
    """Put a permanently failed delivery back in the queue (e.g. after fixing an address)."""
    principal.require(Role.ADMIN)
    async with database.transaction() as tx:
        row = (
            await tx.conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.state == DeliveryState.FAILED_PERMANENT.value,
                )
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    next_attempt_at=func.now(),
                    updated_at=func.now(),
                )
                .returning(*deliveries.c)
            )
        ).first()
        if row is None:
            exists = (
                await tx.conn.execute(
                    select(deliveries.c.state).where(deliveries.c.delivery_id == delivery_id)
                )
            ).scalar_one_or_none()
            if exists is None:
                raise Problem(404, "delivery_not_found", "no delivery has this id")
            raise Problem(409, "not_failed", f"only failed deliveries are retried; it is {exists}")
    return delivery_out(row)
