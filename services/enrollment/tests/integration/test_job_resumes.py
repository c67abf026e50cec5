"""A 3,000-row import whose service process is killed (SIGKILL) mid-job: the job is taken up
again when the service starts anew and ends with every row registered exactly once."""

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select, text

from enrollment.domain.identity import NaturalKey
from enrollment.domain.model import Position
from enrollment.jobs import identity_lock
from enrollment.main import MIGRATIONS
from enrollment.store.tables import learners, outbox
from lms_cli.stack import start_service, wait_ready
from servicekit import regions
from servicekit.auth import mint_token
from servicekit.database import make_engine
from servicekit.i18n import position_name
from servicekit.migrations import upgrade
from servicekit.settings import ServiceSettings
from servicekit.testing.services import running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
ROWS, CHUNK = 3000, 100
# real villages of Sulawesi Tenggara, a handful of officials in each, as in the field
VILLAGES = sorted(regions.villages_of_province("74"))[:300]
POSITIONS = list(Position)


def official(i: int) -> tuple[str, Position, str]:
    return f"Aparatur {i}", POSITIONS[i % len(POSITIONS)], VILLAGES[i % len(VILLAGES)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def service_process(
    database_url: str, nats_url: str, jetstream: JetStreamContext, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``lms serve enrollment`` as a process of its own, with a one-second job lease."""
    upgrade(MIGRATIONS, database_url)
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENVIRONMENT": "test",
        "JOB_LEASE_SECONDS": "1",
        "IMPORT_CHUNK_ROWS": str(CHUNK),
    }
    process = start_service("enrollment", env, "127.0.0.1", tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready({"enrollment": url}, {"enrollment": process}, tmp_path)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def officials() -> bytes:
    titles = {p: position_name(p.value) for p in POSITIONS}
    lines = ["full_name;position;village_code"] + [
        f"{name};{titles[position]};{village}"
        for name, position, village in map(official, range(ROWS))
    ]
    return ("\n".join(lines) + "\n").encode()


async def test_a_killed_process_resumes_its_import_when_started_again_without_doubling(
    service_process: tuple[str, subprocess.Popen[bytes]], database_url: str, nats_url: str
) -> None:
    url, process = service_process
    admin = {"Authorization": "Bearer " + mint_token(ServiceSettings(), roles=["admin"])}
    # the identity of row 252 is held elsewhere (as by a concurrent import of that person):
    # the job stops there, in its third chunk, until the process is killed
    name, position, village = official(250)
    held = NaturalKey.of(name, village, position)
    engine = make_engine(database_url, pool_size=1)
    async with engine.connect() as holder, httpx.AsyncClient(base_url=url, timeout=30) as http:
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": identity_lock(str(held))}
        )
        response = await http.post(
            "/v1/learners/import",
            headers=admin,
            data={"region_code": "74"},
            files={"file": ("aparatur.csv", officials(), "text/csv")},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.json()["total"] == ROWS
        await eventually(
            lambda: http.get(f"/v1/jobs/{job_id}", headers=admin),
            lambda r: r.json()["processed"] == 2 * CHUNK,
        )
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
        await holder.rollback()
    await engine.dispose()

    async with running_service(
        "enrollment", database_url, nats_url, job_lease_seconds=1
    ) as restarted:
        done = await eventually(
            lambda: restarted.client.get(f"/v1/jobs/{job_id}", headers=admin),
            lambda r: r.json()["state"] == "completed",
            timeout=120,
        )
        assert done.json()["counts"] == {"registered": ROWS}
        async with restarted.runtime.database.read() as conn:
            people = (await conn.execute(select(func.count()).select_from(learners))).scalar_one()
            distinct = (
                await conn.execute(select(func.count(func.distinct(learners.c.full_name))))
            ).scalar_one()
            events = (
                await conn.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.event_type == "lms.enrollment.learner-registered.v1")
                )
            ).scalar_one()
        assert (people, distinct, events) == (ROWS, ROWS, ROWS)
        rows = await restarted.client.get(f"/v1/jobs/{job_id}/rows.csv", headers=admin)
        lines = rows.text.splitlines()[1:]
        assert len(lines) == ROWS and all(",registered," in line for line in lines)
