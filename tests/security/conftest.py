"""What the break-in tests share: services on real PostgreSQL and NATS, and a record of what
a refused request must leave unchanged (rows, events, dead letters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from nats.js import JetStreamContext
from sqlalchemy import text

from servicekit.settings import DEV_SIGNING_KEY, ServiceSettings
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually
from servicekit.topology import DLQ_STREAM, STREAM

TOWUA = "74.01.01.2006"  # Sulawesi Tenggara
BENTENG_UTARA = "73.01.01.1001"  # Sulawesi Selatan


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


@pytest.fixture
async def content(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("content", database_url, nats_url) as service:
        yield service


@pytest.fixture
async def reporting(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("reporting", database_url, nats_url) as service:
        yield service


def signed(**claims: object) -> dict[str, str]:
    """A validly signed token with whatever claims an attacker puts in it."""
    settings = ServiceSettings()
    now = datetime.now(UTC)
    body = {
        "sub": "attacker",
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | claims
    return {"Authorization": f"Bearer {jwt.encode(body, DEV_SIGNING_KEY, algorithm='HS256')}"}


@dataclass(frozen=True)
class State:
    rows: dict[str, int]
    events: int
    dead_letters: int


async def unsent(service: RunningService) -> int:
    async with service.runtime.database.read() as conn:
        found = await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        return int(found.scalar_one())


async def state(service: RunningService, js: JetStreamContext, *tables: str) -> State:
    """Row counts of ``tables`` and the outbox, events on the stream, dead letters, once the
    relay has published everything written so far."""
    await eventually(lambda: unsent(service), lambda n: n == 0)
    rows = {}
    async with service.runtime.database.read() as conn:
        for table in ("outbox", *tables):
            rows[table] = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    events = (await js.stream_info(STREAM)).state.messages
    dead = (await js.stream_info(DLQ_STREAM)).state.messages
    return State(rows, events, dead)


def problem(response: object, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body
