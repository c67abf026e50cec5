"""The webhook bridge's delivery rate against a bare HTTPS client, to the same receiver in the
same run.

A receiver process (``servicekit.testing.https``: uvicorn over TLS, counting) stands for a
regional system. The baseline is a plain httpx client posting the same bodies with the same
concurrency, one after another. The bridge works off a backlog of the same number of
deliveries, written through its own use cases (events of a province's learners, queued for one
endpoint): its delivery worker claims them, signs each with Standard Webhooks, posts it, and
records the outcome, per learner in order. Both rates are deliveries the receiver counted per
second.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import webhooks.main as webhooks
from lms_contracts import LessonCompleted, new_event
from servicekit import regions
from servicekit.database import Database, make_engine
from servicekit.idempotency import IdempotencyStore
from servicekit.migrations import upgrade
from servicekit.outbox import Outbox
from servicekit.runner import Runner
from servicekit.servers import ensure_database
from servicekit.service import Runtime
from servicekit.testing.https import Certificates, make_certificates
from webhooks.delivery import DeliveryWorker
from webhooks.domain.commands import RecordEvent, RecordEvents, RegisterEndpoint

EVENTS_PER_LEARNER = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def receiver_process(certificates: Certificates) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicekit.testing.https",
            "--port",
            str(port),
            "--cert",
            str(certificates.cert),
            "--key",
            str(certificates.key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def received(client: httpx.AsyncClient, url: str) -> int:
    return int((await client.get(f"{url}/count")).json()["count"])


async def wait_for_receiver(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(200):
        with contextlib.suppress(httpx.HTTPError):
            await received(client, url)
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the HTTPS receiver did not start")


def bodies(count: int) -> list[tuple[uuid.UUID, str, str]]:
    """(learner, village, CloudEvent JSON) of ``count`` lesson completions in Sulawesi
    Tenggara, a few per learner."""
    villages = sorted(regions.villages_of_province("74"))
    now = datetime.now(UTC)
    made = []
    learners = [
        (uuid.uuid4(), villages[i % len(villages)])
        for i in range(max(1, count // EVENTS_PER_LEARNER))
    ]
    for i in range(count):
        learner_id, village = learners[i % len(learners)]
        data = LessonCompleted(
            learner_id=learner_id,
            course_id=uuid.UUID(int=7),
            course_version=1,
            lesson_id=uuid.uuid4(),
            village_code=village,
            completed_at=now,
            recorded_at=now,
        )
        made.append((learner_id, village, new_event(data).to_json().decode()))
    return made


async def bare_rate(url: str, ca: Path, payloads: list[str], concurrency: int) -> float:
    """Posts per second of a plain httpx client: keep-alive, the same concurrency."""
    pending = iter(payloads)
    async with httpx.AsyncClient(verify=str(ca), timeout=30) as client:

        async def post_all() -> None:
            for body in pending:
                response = await client.post(
                    f"{url}/bare", content=body, headers={"content-type": "application/json"}
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(post_all() for _ in range(concurrency)))
        return len(payloads) / (time.perf_counter() - started)


@contextlib.asynccontextmanager
async def bridge_runtime(
    server_url: str, settings: dict[str, Any]
) -> AsyncIterator[Runtime[Any, Any]]:
    url = await ensure_database(server_url, f"bench_webhooks_{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(upgrade, webhooks.MIGRATIONS, url)
    config = webhooks.Settings(database_url=url, **settings)
    definition = webhooks.definition(config, webhooks.dependencies(config))
    engine = make_engine(url, pool_size=4)
    database = Database(engine, Outbox(definition.metadata.tables["outbox"]))
    runner: Runner[Any] = Runner(
        database,
        IdempotencyStore(definition.metadata.tables["idempotency_keys"]),
        definition.unit_of_work,
        definition.handlers,
    )
    try:
        yield Runtime(definition, database, runner)
    finally:
        await engine.dispose()


async def bridge_rate(
    server_url: str, url: str, ca: Path, events: list[tuple[uuid.UUID, str, str]], concurrency: int
) -> float:
    """Deliveries per second of the bridge's worker draining a backlog of ``events``."""
    settings = {"ca_bundle": str(ca), "delivery_concurrency": concurrency}
    async with (
        bridge_runtime(server_url, settings) as runtime,
        httpx.AsyncClient(verify=str(ca)) as counter,
    ):
        await runtime.runner.execute(
            RegisterEndpoint(f"{url}/bridge", "74", (LessonCompleted.event_type,))
        )
        now = datetime.now(UTC)
        for start in range(0, len(events), 500):
            async with runtime.database.transaction() as tx:
                await runtime.runner.apply(
                    tx,
                    RecordEvents(
                        tuple(
                            RecordEvent(
                                uuid.uuid4(),
                                LessonCompleted.event_type,
                                learner,
                                village,
                                now,
                                body,
                            )
                            for learner, village, body in events[start : start + 500]
                        )
                    ),
                )
        before = await received(counter, url)
        worker = DeliveryWorker(runtime)
        started = time.perf_counter()
        running = asyncio.create_task(worker.run(runtime.stopping))
        try:
            while await received(counter, url) < before + len(events):
                if running.done():
                    running.result()
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            runtime.stopping.set()
            await running
    return len(events) / elapsed


async def webhook_rates(
    server_url: str, folder: Path, deliveries: int, concurrency: int = 16
) -> tuple[float, float]:
    """(bridge, bare): deliveries per second to the same HTTPS receiver, in this run. Each is
    measured twice, alternating, over half the deliveries, and the better run counts: the
    machine's other work then weighs on both alike."""
    certificates = make_certificates(folder / "webhook-tls")
    half = max(1, deliveries // 2)
    bridge, bare = 0.0, 0.0
    with receiver_process(certificates) as url:
        async with httpx.AsyncClient(verify=str(certificates.ca)) as client:
            await wait_for_receiver(client, url)
        for _ in range(2):
            events = bodies(half)
            payloads = [body for _, _, body in events]
            bare = max(bare, await bare_rate(url, certificates.ca, payloads, concurrency))
            bridge = max(
                bridge, await bridge_rate(server_url, url, certificates.ca, events, concurrency)
            )
    return bridge, bare
