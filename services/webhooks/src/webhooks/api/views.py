"""Rows and domain objects -> response bodies. A signing secret appears only in the answers
that make it (``EndpointCreated``, ``RotatedOut``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import Endpoint
from ..store import queries
from ..usecases import Registered, Rotated
from .schemas import (
    AttemptOut,
    DeliveryCounts,
    DeliveryDetail,
    DeliveryOut,
    EndpointCreated,
    EndpointOut,
    RotatedOut,
    SecretOut,
)


def endpoint_out(
    endpoint: Endpoint, secrets: list[Any], counts: dict[str, int] | None = None
) -> EndpointOut:
    return EndpointOut(
        endpoint_id=endpoint.endpoint_id,
        url=endpoint.url,
        region_code=endpoint.region_code,
        event_types=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        secrets=[
            SecretOut(secret_id=s.secret_id, created_at=s.created_at, expires_at=s.expires_at)
            for s in secrets
        ],
        deliveries=DeliveryCounts(**counts) if counts is not None else None,
    )


async def endpoint_view(conn: AsyncConnection, endpoint: Endpoint) -> EndpointOut:
    secrets = await queries.secrets_of(conn, [endpoint.endpoint_id])
    counts = await queries.delivery_counts(conn, endpoint.endpoint_id)
    return endpoint_out(endpoint, secrets[endpoint.endpoint_id], counts)


async def registered_view(registered: Registered, conn: AsyncConnection) -> dict[str, Any]:
    shown = await endpoint_view(conn, registered.endpoint)
    return EndpointCreated(**shown.model_dump(), secret=registered.secret).model_dump(mode="json")


def rotated_view(rotated: Rotated) -> dict[str, Any]:
    return RotatedOut(
        secret_id=rotated.secret_id,
        secret=rotated.secret,
        previous_expire_at=rotated.previous_expire_at,
    ).model_dump(mode="json")


def delivery_out(row: Any) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        event_type=row.event_type,
        learner_id=row.learner_id,
        status=row.status,
        attempts=row.attempts,
        queued_at=row.queued_at,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        dead_at=row.dead_at,
    )


def delivery_detail(row: Any, attempts: list[Any]) -> DeliveryDetail:
    return DeliveryDetail(
        **delivery_out(row).model_dump(),
        attempts_log=[
            AttemptOut(
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )
