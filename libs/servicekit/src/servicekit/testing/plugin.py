"""pytest fixtures: real nats-server and PostgreSQL per test session, always cleaned up.

``NATS_URL`` / ``DATABASE_URL`` point the tests at external servers instead (use servers
dedicated to tests: streams and databases are created and dropped). With
``LMS_TESTCONTAINERS=1`` and a Docker engine that answers, the servers run in containers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from servicekit.servers import (
    LocalPostgres,
    NatsServer,
    ensure_database_sync,
    new_run_dir,
    stop_leftovers,
)


def _containers_wanted() -> bool:
    if os.environ.get("LMS_TESTCONTAINERS") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        raise pytest.UsageError(
            f"LMS_TESTCONTAINERS=1 but no Docker engine answers: {exc}"
        ) from exc
    return True


@pytest.fixture(scope="session")
def run_dir() -> Iterator[Path]:
    stop_leftovers()
    path = new_run_dir("tests")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(run_dir: Path) -> Iterator[str]:
    """Admin URL of a PostgreSQL server for this test session."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    if _containers_wanted():  # pragma: no cover - needs Docker
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18", driver="asyncpg") as container:
            yield container.get_connection_url()
        return
    server = LocalPostgres(run_dir / "postgres")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def own_postgres(run_dir: Path) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of this test's own, to halt, resume and restart without disturbing
    the session's (always local: it needs the embedded server's ``pg_ctl``)."""
    server = LocalPostgres(run_dir / f"postgres-{uuid.uuid4().hex[:8]}")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_database(postgres_url: str) -> Callable[[str], str]:
    """Create a fresh, uniquely named database and return its URL."""

    def make(label: str = "t") -> str:
        name = f"{label}_{uuid.uuid4().hex[:10]}"
        return ensure_database_sync(postgres_url, name)

    return make


@pytest.fixture
def database_url(make_database: Callable[[str], str]) -> str:
    return make_database("t")


@pytest.fixture
def nats_server(run_dir: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test (it starts in milliseconds)."""
    server = NatsServer(run_dir / f"nats-{uuid.uuid4().hex[:8]}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
def nats_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty JetStream: a fresh local server, or the external ``NATS_URL`` wiped."""
    external = os.environ.get("NATS_URL")
    if external:
        asyncio.run(_wipe_streams(external))
        yield external
        return
    if _containers_wanted():  # pragma: no cover - needs Docker
        from testcontainers.core.container import DockerContainer

        with (
            DockerContainer("nats:2.15-alpine")
            .with_command("-js")
            .with_exposed_ports(4222) as container
        ):
            yield f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"
        return
    server: NatsServer = request.getfixturevalue("nats_server")
    yield server.url


async def _wipe_streams(url: str) -> None:
    import nats

    from servicekit.topology import AUDIT_STREAM, DLQ_STREAM, STREAM

    nc = await nats.connect(url)
    js = nc.jetstream()
    for stream in (STREAM, DLQ_STREAM, AUDIT_STREAM):
        with suppress(Exception):
            await js.delete_stream(stream)
    await nc.close()


@pytest.fixture
async def jetstream(nats_url: str) -> AsyncIterator[object]:
    """A connected JetStream context with the LMS topology applied."""
    import nats

    from servicekit.topology import TopologySettings, apply_topology

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await apply_topology(js, TopologySettings(ack_wait_seconds=5.0))
    try:
        yield js
    finally:
        await nc.close()
