"""What a service answers over HTTP while NATS or PostgreSQL is away: a real app, composed as
every service is, served by uvicorn and called over one keep-alive connection."""

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import Column, Integer, MetaData, Table, func, select, text

from lms_contracts import LessonCompleted
from servicekit import service
from servicekit.database import make_engine
from servicekit.registry import ServiceSpec
from servicekit.servers import LocalPostgres, NatsServer, ensure_database
from servicekit.service import Dependencies, ServiceDefinition, create_app, get_runtime
from servicekit.settings import ServiceSettings
from servicekit.tables import plumbing_tables
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration

metadata = MetaData()
plumbing_tables(metadata)
notes = Table("notes", metadata, Column("note_id", Integer, primary_key=True))
router = APIRouter()


@router.post("/notes", status_code=201)
async def add_note(request: Request) -> dict[str, str]:
    """A write that publishes an event, as a producer's use cases do."""
    async with (await get_runtime(request)).database.transaction() as tx:
        await tx.execute(notes.insert())
        await tx.emit(lesson_completed())
    return {"status": "added"}


@router.post("/notes/lost-at-commit", status_code=201)
async def add_note_losing_the_connection(request: Request) -> dict[str, str]:
    """A write whose connection is cut between its last statement and its COMMIT (as when
    PostgreSQL is killed at that moment): nobody can know whether it committed."""
    database = (await get_runtime(request)).database
    async with database.transaction() as tx:
        await tx.execute(notes.insert())
        pid = (await tx.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with database.read() as other:
            await other.execute(text(f"SELECT pg_terminate_backend({int(pid)}, 5000)"))
    return {"status": "added"}


@router.get("/notes")
async def count_notes(request: Request) -> dict[str, int]:
    async with (await get_runtime(request)).database.read() as conn:
        return {"notes": (await conn.execute(select(func.count()).select_from(notes))).scalar_one()}


@router.get("/broken")
async def broken() -> None:
    raise RuntimeError("a bug")


def lesson_completed() -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at=now,
        recorded_at=now,
    )


@dataclass
class Served:
    client: httpx.AsyncClient

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)


@router.get("/backend")
async def backend(request: Request) -> dict[str, int]:
    """The PostgreSQL process serving this request's connection."""
    async with (await get_runtime(request)).database.read() as conn:
        return {"pid": (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()}


async def probe_app(database_url: str, nats_url: str, **bounds: float) -> FastAPI:
    """A producer composed as every service is, on a database with its tables; ``bounds``
    set its ``database_*_timeout_seconds``."""
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    settings = ServiceSettings(
        database_url=database_url,
        nats_url=nats_url,
        environment="test",
        run_consumers=False,
        **bounds,
    )
    spec = ServiceSpec("probe", 8999, "probe", publishes=(LessonCompleted,))
    return create_app(ServiceDefinition(spec, settings, Dependencies(), metadata, routers=[router]))


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[Served]:
    """``app`` behind uvicorn on a free port, and a client that keeps one connection."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the app sets its own at start
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started or task.done()), bool)
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, limits=limits) as client:
            yield Served(client)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
async def served(
    own_postgres: LocalPostgres, nats_server: NatsServer, jetstream: Any
) -> AsyncIterator[Served]:
    url = await ensure_database(own_postgres.url("postgres"), "probe")
    async with serving(await probe_app(url, nats_server.url)) as served:
        yield served


def gauges(exposition: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in re.findall(r"^(\w+) (\S+)$", exposition, flags=re.MULTILINE)
    }


def connection_of(response: httpx.Response) -> Any:
    """The client's end of the connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


async def test_a_lost_database_is_a_503_to_retry_and_the_connection_stays_usable(
    served: Served, own_postgres: LocalPostgres
) -> None:
    first = await served.get("/notes")
    assert first.status_code == 200
    await asyncio.to_thread(own_postgres.halt)

    refused = await served.get("/notes")
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "database_unavailable"
    assert refused.headers.get("connection") != "close"
    alive = await served.get("/healthz")
    assert alive.status_code == 200
    assert connection_of(alive) == connection_of(refused) == connection_of(first)

    # any other unexpected error: a 500 problem, and the connection still serves
    failed = await served.get("/broken")
    assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
    assert "x-correlation-id" in failed.headers

    await asyncio.to_thread(own_postgres.resume)
    again = await served.get("/notes")
    assert again.status_code == 200
    assert connection_of(again) == connection_of(first)


async def test_a_connection_lost_during_commit_says_the_outcome_is_unknown(
    served: Served,
) -> None:
    lost = await served.client.post("/notes/lost-at-commit")
    assert lost.status_code == 503, lost.text
    assert lost.json()["code"] == "outcome_unknown"
    assert "Idempotency-Key" in lost.json()["detail"]
    assert lost.headers["retry-after"] == "5"
    # the service goes on serving from a fresh connection
    assert (await served.get("/notes")).status_code == 200


async def test_ready_while_nats_is_away_and_not_ready_without_the_database(
    served: Served, own_postgres: LocalPostgres, nats_server: NatsServer
) -> None:
    ready = await served.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": "connected", "database": "ok"}

    await asyncio.to_thread(nats_server.stop)
    away = await eventually(
        lambda: served.get("/readyz"), lambda r: r.json()["checks"]["nats"] == "unreachable"
    )
    assert away.status_code == 200
    # the outbox takes writes while NATS is away; how far behind the relay is shows
    assert (await served.client.post("/notes")).status_code == 201
    lagging = await eventually(
        lambda: served.get("/readyz"),
        lambda r: r.json()["outbox"]["oldest_unsent_age_seconds"] > 0,
    )
    assert lagging.status_code == 200
    metrics = gauges((await served.get("/metrics")).text)
    assert metrics["lms_nats_connected"] == 0
    assert metrics["lms_outbox_oldest_unsent_age_seconds"] > 0
    assert metrics["lms_outbox_backlog"] == 1

    await asyncio.to_thread(own_postgres.halt)
    not_ready = await served.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["database"].startswith("unreachable")
    assert (await served.get("/healthz")).status_code == 200  # liveness asks no other server

    await asyncio.to_thread(own_postgres.resume)
    await asyncio.to_thread(nats_server.start)
    caught_up = await eventually(
        lambda: served.get("/readyz"),
        lambda r: r.status_code == 200
        and r.json()["checks"]["nats"] == "connected"
        and r.json()["outbox"]["oldest_unsent_age_seconds"] == 0,
        timeout=15,
    )
    assert caught_up.json()["checks"]["database"] == "ok"


async def test_a_service_starts_and_serves_while_nats_is_away_and_joins_it_later(
    database_url: str, nats_server: NatsServer, jetstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "NATS_START_WAIT_SECONDS", 0.2)
    await asyncio.to_thread(nats_server.stop)
    async with serving(await probe_app(database_url, nats_server.url)) as served:
        ready = await served.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["nats"] == "unreachable"
        assert (await served.client.post("/notes")).status_code == 201

        await asyncio.to_thread(nats_server.start)
        await eventually(
            lambda: served.get("/readyz"),
            lambda r: r.json()["checks"]["nats"] == "connected"
            and r.json()["outbox"]["oldest_unsent_age_seconds"] == 0,
            timeout=15,
        )


async def test_a_hung_database_is_a_503_within_the_bound_and_its_connections_are_replaced(
    own_postgres: LocalPostgres, nats_server: NatsServer, jetstream: Any
) -> None:
    """PostgreSQL stopped (SIGSTOP): its sockets stay open and nothing answers, so only the
    client's own bound can answer the request. Without it, these requests would wait for as
    long as the server stays stopped."""
    url = await ensure_database(own_postgres.url("postgres"), "probe")
    bounds = {
        "database_statement_timeout_seconds": 1.0,
        "database_connect_timeout_seconds": 1.0,
    }
    async with serving(await probe_app(url, nats_server.url, **bounds)) as served:
        before = await served.get("/backend")
        assert before.status_code == 200
        await asyncio.to_thread(own_postgres.freeze)
        try:
            # each answer comes within the client's timeout (far below "forever"), as the
            # problem a client retries
            read = await served.client.get("/notes", timeout=15)
            write = await served.client.post("/notes", timeout=15)
            readiness = await served.client.get("/readyz", timeout=15)
            alive = await served.client.get("/healthz", timeout=15)
        finally:
            await asyncio.to_thread(own_postgres.thaw)
        for refused in (read, write):
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "5"
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "database_unavailable"
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["database"].startswith("unreachable")
        assert alive.status_code == 200

        # thawed: the same client connection is served again, by a new database connection
        # (the stuck one was dropped), and the refused write left nothing behind
        after = await served.get("/backend")
        assert after.status_code == 200
        assert after.json()["pid"] != before.json()["pid"]
        assert connection_of(after) == connection_of(before) == connection_of(read)
        assert (await served.get("/notes")).json() == {"notes": 0}
        assert (await served.client.post("/notes")).status_code == 201
        # the relay, which waited for the database meanwhile, publishes it
        await eventually(
            lambda: served.get("/readyz"),
            lambda r: r.status_code == 200 and r.json()["outbox"]["oldest_unsent_age_seconds"] == 0,
            timeout=15,
        )
