"""Endpoints: register, list, read, change (enable, disable), remove, rotate the secret.
Admins only."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from servicekit.auth import CurrentPrincipal, Role
from servicekit.pagination import CursorParam, Cursors, Page, PageCursors

from ..domain import commands
from ..domain.errors import EndpointNotFound
from ..events.inbound import LEARNER_EVENTS
from ..store import queries
from ..store.unit_of_work import SqlUnitOfWork
from ..usecases import Registered
from .dependencies import UseCases
from .schemas import EndpointCreated, EndpointIn, EndpointOut, EndpointPatch, RotatedOut, RotateIn
from .views import endpoint_out, endpoint_view, registered_view, rotated_view

router = APIRouter(prefix="/v1/webhooks/endpoints", tags=["endpoints"])
EVERY_LEARNER_EVENT = tuple(e.event_type for e in LEARNER_EVENTS)


@router.post("", status_code=201, response_model=EndpointCreated)
async def register_endpoint(
    body: EndpointIn, principal: CurrentPrincipal, runner: UseCases
) -> Response:
    """Register an HTTPS endpoint for a region's learner events. The answer holds the signing
    secret, shown this once."""
    principal.require(Role.ADMIN)
    command = commands.RegisterEndpoint(
        url=body.url,
        region_code=body.region_code,
        event_types=tuple(body.event_types or EVERY_LEARNER_EVENT),
        description=body.description,
        enabled=body.enabled,
    )

    async def view(registered: Registered, uow: SqlUnitOfWork) -> dict[str, Any]:
        return await registered_view(registered, uow.conn)

    return await runner.respond(command, view, status=201)


def _position(cursors: Cursors, cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    found = cursors.decode("endpoints", cursor, "t", "id")
    return (datetime.fromisoformat(found["t"]), uuid.UUID(found["id"])) if found else None


@router.get("", response_model=Page[EndpointOut])
async def list_endpoints(
    principal: CurrentPrincipal,
    runner: UseCases,
    cursors: PageCursors,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[EndpointOut]:
    principal.require(Role.ADMIN)
    async with runner.read() as conn:
        found = await queries.endpoints_page(conn, after=_position(cursors, cursor), limit=limit)
        shown = found[:limit]
        secrets = await queries.secrets_of(conn, [e.endpoint_id for e in shown])
    next_cursor = None
    if len(found) > limit:
        last = shown[-1]
        next_cursor = cursors.encode(
            "endpoints", t=last.created_at.isoformat(), id=str(last.endpoint_id)
        )
    return Page(
        items=[endpoint_out(e, secrets[e.endpoint_id]) for e in shown], next_cursor=next_cursor
    )


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(
    endpoint_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> EndpointOut:
    """The endpoint, its secrets' dates and how many deliveries are pending, delivered, dead."""
    principal.require(Role.ADMIN)
    async with runner.read() as conn:
        endpoint = await queries.endpoint(conn, endpoint_id)
        if endpoint is None:
            raise EndpointNotFound(endpoint_id)
        return await endpoint_view(conn, endpoint)


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def change_endpoint(
    endpoint_id: uuid.UUID, body: EndpointPatch, principal: CurrentPrincipal, runner: UseCases
) -> Response:
    """Change the URL, region, event types or description; ``enabled: false`` holds its
    deliveries (still queued) until ``enabled: true``, when it catches up."""
    principal.require(Role.ADMIN)
    command = commands.ChangeEndpoint(
        endpoint_id,
        url=body.url,
        region_code=body.region_code,
        event_types=tuple(body.event_types) if body.event_types else None,
        description=body.description,
        enabled=body.enabled,
    )

    async def view(endpoint: Any, uow: SqlUnitOfWork) -> dict[str, Any]:
        return (await endpoint_view(uow.conn, endpoint)).model_dump(mode="json")

    return await runner.respond(command, view)


@router.delete("/{endpoint_id}", status_code=204)
async def remove_endpoint(
    endpoint_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> Response:
    """Remove the endpoint with its secrets, deliveries and their log."""
    principal.require(Role.ADMIN)
    await runner.execute(commands.RemoveEndpoint(endpoint_id))
    return Response(status_code=204)


@router.post("/{endpoint_id}/secret/rotate", response_model=RotatedOut)
async def rotate_secret(
    endpoint_id: uuid.UUID,
    principal: CurrentPrincipal,
    runner: UseCases,
    body: RotateIn | None = None,
) -> Response:
    """A new signing secret (shown this once) signs from now on; the current ones keep
    signing beside it for ``previous_expire_in_hours`` (every delivery carries a signature
    per active secret), so the receiver can switch without losing a delivery."""
    principal.require(Role.ADMIN)
    overlap = timedelta(hours=(body or RotateIn()).previous_expire_in_hours)
    return await runner.respond(
        commands.RotateSecret(endpoint_id, overlap), lambda rotated, uow: rotated_view(rotated)
    )
