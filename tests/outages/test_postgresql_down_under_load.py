"""A service's PostgreSQL stops, or hangs, while clients register learners and read reports:
every answer during the outage is a 503 problem with Retry-After, on a connection that stays
open; none is a 500 or a reset connection; once it is back, the same clients are served again,
and every registration that was answered 201 is there.

Real PostgreSQL (stopped with a fast shutdown, as an operator or a crash would, and started
again; or hung: every process of it stopped with SIGSTOP, its connections open and silent, then
continued), real nats-server, enrollment and reporting served by uvicorn over real connections.
A hung server is answered only by the services' own bound (DATABASE_STATEMENT_TIMEOUT_SECONDS,
DATABASE_CONNECT_TIMEOUT_SECONDS), here 1 s: without it, the requests would wait for as long as
the server is hung.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from nats.js import JetStreamContext

from reporting.regions_loader import load_regions
from servicekit.servers import LocalPostgres, NatsServer, ensure_database
from servicekit.testing.services import RunningService, running_service

pytestmark = pytest.mark.integration
# Sulawesi Tenggara: Towua, Kolaka
TOWUA = "74.01.01.2006"
CLIENTS = 6
OUTAGE_SECONDS = 4.0
BOUNDS = {"database_statement_timeout_seconds": 1.0, "database_connect_timeout_seconds": 1.0}
FAULTS = {
    "stopped": (LocalPostgres.halt, LocalPostgres.resume),
    "hung": (LocalPostgres.freeze, LocalPostgres.thaw),
}


@dataclass
class Answers:
    """What the clients were told, by request kind."""

    statuses: Counter[tuple[str, int | str]] = field(default_factory=Counter)
    registered: list[str] = field(default_factory=list)
    refusals: list[httpx.Response] = field(default_factory=list)

    def during(self, kind: str) -> set[int | str]:
        return {status for (k, status) in self.statuses if k == kind}


@pytest.fixture
async def services(
    own_postgres: LocalPostgres, nats_server: NatsServer, jetstream: JetStreamContext
) -> AsyncIterator[tuple[RunningService, RunningService]]:
    server = own_postgres.url("postgres")
    enrollment_db = await ensure_database(server, "enrollment")
    reporting_db = await ensure_database(server, "reporting")
    async with (
        # fewer connections than clients: requests also wait for the pool
        running_service(
            "enrollment",
            enrollment_db,
            nats_server.url,
            over_http=True,
            database_pool_size=2,
            **BOUNDS,
        ) as enrollment,
        running_service(
            "reporting",
            reporting_db,
            nats_server.url,
            over_http=True,
            database_pool_size=2,
            **BOUNDS,
        ) as reporting,
    ):
        async with reporting.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield enrollment, reporting


class Phases:
    """Where the answers of the moment are recorded: the clients keep going while it moves."""

    def __init__(self) -> None:
        self.before, self.during, self.after = Answers(), Answers(), Answers()
        self.now = self.before


async def register(enrollment: RunningService, phases: Phases, n: int) -> None:
    body = {
        "full_name": f"La Ode Aparatur {n}",
        "position": "kepala_dusun",
        "village_code": TOWUA,
    }
    response = await enrollment.client.post(
        "/v1/learners", json=body, headers=enrollment.auth("admin")
    )
    answers = record(phases, "register", response)
    if response.status_code == 201:
        answers.registered.append(response.json()["learner_id"])


async def read_report(reporting: RunningService, phases: Phases) -> None:
    response = await reporting.client.get("/v1/reports/regions/74", headers=reporting.auth("admin"))
    record(phases, "report", response)


def record(phases: Phases, kind: str, response: httpx.Response) -> Answers:
    answers = phases.now
    answers.statuses[kind, response.status_code] += 1
    if response.status_code >= 500:
        answers.refusals.append(response)
    return answers


async def client_loop(
    services: tuple[RunningService, RunningService], phases: Phases, stop: asyncio.Event, n: int
) -> None:
    """One client: a registration, then a report, until told to stop (at most 2,000 calls)."""
    enrollment, reporting = services
    for i in range(1000):
        if stop.is_set():
            return
        try:
            await register(enrollment, phases, n * 10_000 + i)
            await read_report(reporting, phases)
        except httpx.TransportError as exc:  # a reset or a dropped connection
            phases.now.statuses["transport", type(exc).__name__] += 1


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_clients_get_a_503_with_retry_after_while_postgresql_is_down_never_a_500(
    fault: str, services: tuple[RunningService, RunningService], own_postgres: LocalPostgres
) -> None:
    enrollment, _ = services
    stop_it, start_it = FAULTS[fault]
    phases = Phases()
    stop = asyncio.Event()
    clients = [asyncio.create_task(client_loop(services, phases, stop, n)) for n in range(CLIENTS)]
    # the load's phases last this long: durations of the test, not waits for something
    await asyncio.sleep(1.0)
    await asyncio.to_thread(stop_it, own_postgres)  # under load: requests in flight
    phases.now = phases.during
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(start_it, own_postgres)
    phases.now = phases.after
    await asyncio.sleep(3.0)
    stop.set()
    await asyncio.gather(*clients)
    before, during, after = phases.before, phases.during, phases.after

    assert before.statuses["register", 201] > 0 and before.statuses["report", 200] > 0
    assert during.statuses["register", 503] > 0 and during.statuses["report", 503] > 0
    for answers in (before, during, after):
        assert answers.during("register") <= {201, 503}, answers.statuses
        assert answers.during("report") <= {200, 503}, answers.statuses
        assert not answers.during("transport"), answers.statuses
        for refusal in answers.refusals:
            assert refusal.headers["content-type"] == "application/problem+json"
            assert refusal.headers["retry-after"].isdigit()
            # a write cut at its COMMIT cannot know whether it was applied, and says so
            assert refusal.json()["code"] in {"database_unavailable", "outcome_unknown"}
    # back: the same clients are served again once the pool reconnects
    assert after.statuses["register", 201] > 0 and after.statuses["report", 200] > 0

    registered = before.registered + during.registered + after.registered
    assert len(set(registered)) == len(registered)
    admin = enrollment.auth("admin")
    for learner_id in registered[:: max(1, len(registered) // 25)]:
        found = await enrollment.client.get(f"/v1/learners/{learner_id}", headers=admin)
        assert found.status_code == 200, found.text
