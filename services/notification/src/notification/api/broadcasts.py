"""Coaching: a supervisor's (or admin's) message to a region's learners, sent as a job."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.openapi import problems
from servicekit.problems import Problem
from servicekit.ratelimit import RateLimit
from servicekit.runner import Idempotency

from ..domain.commands import SendBroadcast, SubscribeToDigest
from ..domain.errors import BroadcastNotFound
from ..domain.model import Audience
from ..store import queries
from .dependencies import ServiceRuntime, UseCases
from .schemas import BroadcastIn, BroadcastOut, DigestSubscriptionIn, DigestSubscriptionOut
from .views import broadcast_out

router = APIRouter(prefix="/v1", tags=["coaching"])
# Required here: a repeated or retried request must never send the message twice.
RequiredIdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
]
message_limit = RateLimit("coaching message", per_minute=6, burst=3)


def audience_of(principal: Principal, body: BroadcastIn) -> Audience:
    """The region asked for (the supervisor's own by default), refused outside theirs."""
    principal.require(Role.SUPERVISOR, Role.ADMIN)
    region_code = body.region_code
    if region_code is None:
        region_code = principal.region_in_view or ""
    principal.require_region(region_code)
    return Audience(region_code, body.course_id, body.inactive_days, tuple(body.learner_ids))


@router.post("/broadcasts", status_code=202, response_model=BroadcastOut, responses=problems(429))
async def send_broadcast(
    request: Request,
    body: BroadcastIn,
    principal: CurrentPrincipal,
    runtime: ServiceRuntime,
    runner: UseCases,
    idempotency_key: RequiredIdempotencyKey,
) -> object:
    """Each matching learner gets the message once (inbox, and the channels they want, outside
    their quiet hours), however often they are listed and however often the request is sent:
    the ``Idempotency-Key`` is required and a repeat answers the first job. Rate-limited per
    caller (429 with Retry-After)."""
    audience = audience_of(principal, body)
    await message_limit(request)  # counts only requests that could send something
    command = SendBroadcast(
        uuid.uuid4(), principal.subject, audience, body.title, body.text, runtime.clock()
    )
    return await runner.respond(
        command,
        lambda row, _: broadcast_out(row).model_dump(mode="json"),
        status=202,
        idempotency=Idempotency(
            idempotency_key, f"broadcasts:{principal.subject}", body.model_dump(mode="json")
        ),
    )


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastOut)
async def read_broadcast(
    broadcast_id: uuid.UUID, principal: CurrentPrincipal, runner: UseCases
) -> BroadcastOut:
    """The job's progress: how many learners it reaches and how many it has reached."""
    principal.require(Role.SUPERVISOR, Role.ADMIN)
    async with runner.read() as conn:
        row = await queries.broadcast(conn, broadcast_id)
    if row is None or not principal.covers_region(row.region_code or ""):
        raise BroadcastNotFound(broadcast_id)
    return broadcast_out(row)


@router.put("/digest-subscription", response_model=DigestSubscriptionOut)
async def subscribe_to_digest(
    body: DigestSubscriptionIn, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> DigestSubscriptionOut:
    """A supervisor's weekly digest of their region, by e-mail too (province, regency or
    district: the region of their token)."""
    principal.require(Role.SUPERVISOR)
    region_code = principal.region_code
    if not region_code:
        raise Problem(403, "forbidden", "the digest needs a supervisor's region")
    command = SubscribeToDigest(principal.subject, region_code, body.email, runtime.clock())
    await runtime.runner.execute(command)
    return DigestSubscriptionOut(region_code=region_code, email=body.email)
