"""What the routes read: endpoints, their secrets' dates, deliveries and attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import DeliveryStatus, Endpoint
from .tables import attempts, deliveries, endpoint_secrets, endpoints


def endpoint_from_row(row: Any) -> Endpoint:
    return Endpoint(
        endpoint_id=row.endpoint_id,
        url=row.url,
        region_code=row.region_code,
        event_types=tuple(row.event_types),
        description=row.description,
        enabled=row.enabled,
        enabled_at=row.enabled_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def endpoint(
    conn: AsyncConnection, endpoint_id: uuid.UUID, *, lock: bool = False
) -> Endpoint | None:
    query = select(endpoints).where(endpoints.c.endpoint_id == endpoint_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return endpoint_from_row(row) if row is not None else None


async def endpoints_page(
    conn: AsyncConnection, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Endpoint]:
    """Up to ``limit + 1`` endpoints, oldest first."""
    query = select(endpoints)
    if after is not None:
        created_at, endpoint_id = after
        query = query.where(
            or_(
                endpoints.c.created_at > created_at,
                (endpoints.c.created_at == created_at) & (endpoints.c.endpoint_id > endpoint_id),
            )
        )
    query = query.order_by(endpoints.c.created_at, endpoints.c.endpoint_id).limit(limit + 1)
    return [endpoint_from_row(row) for row in (await conn.execute(query)).all()]


async def secrets_of(
    conn: AsyncConnection, endpoint_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    """When each endpoint's secrets were made and stop signing (never the secrets)."""
    rows = (
        await conn.execute(
            select(
                endpoint_secrets.c.endpoint_id,
                endpoint_secrets.c.secret_id,
                endpoint_secrets.c.created_at,
                endpoint_secrets.c.expires_at,
            )
            .where(endpoint_secrets.c.endpoint_id.in_(endpoint_ids))
            .order_by(endpoint_secrets.c.created_at)
        )
    ).all()
    found: dict[uuid.UUID, list[Any]] = {i: [] for i in endpoint_ids}
    for row in rows:
        found[row.endpoint_id].append(row)
    return found


async def delivery_counts(conn: AsyncConnection, endpoint_id: uuid.UUID) -> dict[str, int]:
    rows = (
        await conn.execute(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.endpoint_id == endpoint_id)
            .group_by(deliveries.c.status)
        )
    ).all()
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def deliveries_page(
    conn: AsyncConnection,
    endpoint_id: uuid.UUID,
    *,
    status: str | None,
    learner_id: uuid.UUID | None,
    before_seq: int | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit + 1`` of the endpoint's deliveries, the latest event first."""
    query = select(deliveries).where(deliveries.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    if learner_id is not None:
        query = query.where(deliveries.c.learner_id == learner_id)
    if before_seq is not None:
        query = query.where(deliveries.c.seq < before_seq)
    query = query.order_by(deliveries.c.seq.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def delivery(conn: AsyncConnection, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
    return (
        await conn.execute(
            select(deliveries).where(
                deliveries.c.endpoint_id == endpoint_id, deliveries.c.delivery_id == delivery_id
            )
        )
    ).first()


async def attempts_of(conn: AsyncConnection, delivery_id: uuid.UUID) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(attempts)
                .where(attempts.c.delivery_id == delivery_id)
                .order_by(attempts.c.attempt_id)
            )
        ).all()
    )
