"""Use cases of the webhook bridge. Each takes a command and a unit of work; those that need
the clock, the secret box or the address rules have them bound by ``handlers``.

What handles what:

| command              | use case               | writes                                          |
|----------------------|------------------------|-------------------------------------------------|
| RegisterEndpoint     | register_endpoint      | an endpoint and its first secret (sealed)       |
| ChangeEndpoint       | change_endpoint        | URL, region, types, description, enabled        |
| RemoveEndpoint       | remove_endpoint        | the endpoint, its secrets and deliveries        |
| RotateSecret         | rotate_secret          | a new secret; the others expire after an overlap|
| RecordEvents         | record_events          | the events kept; a delivery per matching endpoint|
| Replay               | replay                 | the endpoint's matching kept events, queued     |
| Redeliver            | redeliver              | one dead letter queued again                    |
| RedeliverDeadLetters | redeliver_dead_letters | every dead letter (since a time) queued again   |

A delivery is written once per (endpoint, event): the events table is keyed by event id and
the deliveries by (endpoint, event), so a redelivered or replayed message queues nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

from servicekit.clock import Clock
from servicekit.runner import UseCase

from .dependencies import Resolver, WebhooksDependencies
from .domain import commands
from .domain.addresses import AddressPolicy, check_url, literal_address
from .domain.errors import (
    DeliveryNotFound,
    EndpointExists,
    EndpointNotFound,
    InvalidEndpointUrl,
    NotDeadLettered,
)
from .domain.model import Endpoint, new_secret
from .secretbox import SecretBox
from .settings import WebhooksSettings


class UnitOfWork(Protocol):
    async def add_endpoint(self, endpoint: Endpoint) -> bool: ...
    async def endpoint(self, endpoint_id: uuid.UUID, *, lock: bool = False) -> Endpoint | None: ...
    async def url_taken(self, url: str, region_code: str, other_than: uuid.UUID) -> bool: ...
    async def save_endpoint(self, endpoint: Endpoint) -> None: ...
    async def remove_endpoint(self, endpoint_id: uuid.UUID) -> bool: ...
    async def add_secret(
        self, endpoint_id: uuid.UUID, sealed: bytes, created_at: datetime
    ) -> uuid.UUID: ...
    async def expire_secrets(self, endpoint_id: uuid.UUID, at: datetime) -> None: ...
    async def record_events(self, cmd: commands.RecordEvents, now: datetime) -> None: ...
    async def replay(
        self, endpoint: Endpoint, since: datetime, until: datetime | None, now: datetime
    ) -> int: ...
    async def redeliver(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
    ) -> Any: ...
    async def redeliver_all(
        self, endpoint_id: uuid.UUID, since: datetime | None, now: datetime
    ) -> int: ...
    async def delivery_status(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> str | None: ...


@dataclass(frozen=True)
class Registered:
    """A new endpoint and its signing secret, shown this once."""

    endpoint: Endpoint
    secret: str


@dataclass(frozen=True)
class Rotated:
    endpoint: Endpoint
    secret_id: uuid.UUID
    secret: str
    previous_expire_at: datetime


async def checked_url(url: str, policy: AddressPolicy, resolve: Resolver) -> str:
    """The URL if its form and the addresses its name has now are allowed."""
    url = check_url(url, policy)
    host = urlsplit(url).hostname or ""
    if policy.private_allowed or literal_address(host) is not None:
        return url
    addresses = await resolve(host)
    if not addresses:
        raise InvalidEndpointUrl("{host} does not resolve", host=host)
    refused = policy.refused(addresses)
    if refused:
        raise InvalidEndpointUrl(
            "{host} resolves to {address}, a private address", host=host, address=str(refused[0])
        )
    return url


async def existing(uow: UnitOfWork, endpoint_id: uuid.UUID, *, lock: bool = False) -> Endpoint:
    endpoint = await uow.endpoint(endpoint_id, lock=lock)
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


async def register_endpoint(
    cmd: commands.RegisterEndpoint,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    policy: AddressPolicy,
    resolve: Resolver,
) -> Registered:
    now = clock()
    url = await checked_url(cmd.url, policy, resolve)
    endpoint = Endpoint(
        uuid.uuid4(),
        url,
        cmd.region_code,
        cmd.event_types,
        cmd.description,
        cmd.enabled,
        now,
        now,
        now,
    )
    if not await uow.add_endpoint(endpoint):
        raise EndpointExists(url, cmd.region_code)
    secret = new_secret()
    await uow.add_secret(endpoint.endpoint_id, box.seal(secret), now)
    return Registered(endpoint, secret)


async def change_endpoint(
    cmd: commands.ChangeEndpoint,
    uow: UnitOfWork,
    clock: Clock,
    policy: AddressPolicy,
    resolve: Resolver,
) -> Endpoint:
    now = clock()
    current = await existing(uow, cmd.endpoint_id, lock=True)
    changed = replace(
        current,
        url=await checked_url(cmd.url, policy, resolve) if cmd.url is not None else current.url,
        region_code=cmd.region_code or current.region_code,
        event_types=cmd.event_types or current.event_types,
        description=cmd.description if cmd.description is not None else current.description,
        enabled=cmd.enabled if cmd.enabled is not None else current.enabled,
        updated_at=now,
    )
    if changed.enabled and not current.enabled:
        changed = replace(changed, enabled_at=now)  # what waited gets a full retry window
    if await uow.url_taken(changed.url, changed.region_code, changed.endpoint_id):
        raise EndpointExists(changed.url, changed.region_code)
    await uow.save_endpoint(changed)
    return changed


async def remove_endpoint(cmd: commands.RemoveEndpoint, uow: UnitOfWork) -> None:
    if not await uow.remove_endpoint(cmd.endpoint_id):
        raise EndpointNotFound(cmd.endpoint_id)


async def rotate_secret(
    cmd: commands.RotateSecret, uow: UnitOfWork, clock: Clock, box: SecretBox
) -> Rotated:
    now = clock()
    endpoint = await existing(uow, cmd.endpoint_id, lock=True)
    expire_at = now + cmd.overlap
    await uow.expire_secrets(endpoint.endpoint_id, expire_at)
    secret = new_secret()
    secret_id = await uow.add_secret(endpoint.endpoint_id, box.seal(secret), now)
    return Rotated(endpoint, secret_id, secret, expire_at)


async def record_events(
    cmd: commands.RecordEvents, uow: UnitOfWork, clock: Clock
) -> frozenset[uuid.UUID]:
    """Keep and queue a batch's events together; none is left to apply one by one."""
    await uow.record_events(cmd, clock())
    return frozenset()


async def replay(cmd: commands.Replay, uow: UnitOfWork, clock: Clock) -> int:
    endpoint = await existing(uow, cmd.endpoint_id)
    return await uow.replay(endpoint, cmd.since, cmd.until, clock())


async def redeliver(cmd: commands.Redeliver, uow: UnitOfWork, clock: Clock) -> Any:
    delivery = await uow.redeliver(cmd.endpoint_id, cmd.delivery_id, clock())
    if delivery is not None:
        return delivery
    status = await uow.delivery_status(cmd.endpoint_id, cmd.delivery_id)
    if status is None:
        await existing(uow, cmd.endpoint_id)
        raise DeliveryNotFound(cmd.delivery_id)
    raise NotDeadLettered(cmd.delivery_id, status)


async def redeliver_dead_letters(
    cmd: commands.RedeliverDeadLetters, uow: UnitOfWork, clock: Clock
) -> int:
    await existing(uow, cmd.endpoint_id)
    return await uow.redeliver_all(cmd.endpoint_id, cmd.since, clock())


def handlers(
    settings: WebhooksSettings, deps: WebhooksDependencies
) -> dict[type[Any], UseCase[Any]]:
    """The one table of what handles what, bound to the clock, the secret box and the rules
    for endpoint addresses."""
    clock, policy, resolve = deps.clock, settings.addresses, deps.resolver
    return {
        commands.RegisterEndpoint: partial(
            register_endpoint, clock=clock, box=deps.secrets, policy=policy, resolve=resolve
        ),
        commands.ChangeEndpoint: partial(
            change_endpoint, clock=clock, policy=policy, resolve=resolve
        ),
        commands.RemoveEndpoint: remove_endpoint,
        commands.RotateSecret: partial(rotate_secret, clock=clock, box=deps.secrets),
        commands.RecordEvents: partial(record_events, clock=clock),
        commands.Replay: partial(replay, clock=clock),
        commands.Redeliver: partial(redeliver, clock=clock),
        commands.RedeliverDeadLetters: partial(redeliver_dead_letters, clock=clock),
    }
