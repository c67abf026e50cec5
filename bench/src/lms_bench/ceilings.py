"""Raw ceilings on this machine, measured in the same run as the system: plain nats-py
JetStream publish and consume, PostgreSQL batched inserts, and a bare FastAPI endpoint."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from lms_contracts import LessonCompleted, new_event
from servicekit.servers import connect_asyncpg
from servicekit.topology import TopologySettings

from .driver import KEEPALIVE_EXPIRY

BENCH_STREAM = "BENCH"


def sample_payload() -> bytes:
    now = datetime.now(UTC)
    data = LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code="74.01.01.2006",
        completed_at=now,
        recorded_at=now,
    )
    return new_event(data).to_json()


async def jetstream_publish_and_consume(
    nc: nats.NATS, count: int, window: int = 1000
) -> dict[str, float]:
    """Pipelined publishes awaiting every ack, then batch pull with an ack per message."""
    js = nc.jetstream()
    try:
        await js.delete_stream(BENCH_STREAM)
    except Exception:
        pass
    await js.add_stream(
        StreamConfig(
            name=BENCH_STREAM, subjects=["bench.>"], storage=StorageType.FILE, duplicate_window=120
        )
    )
    payload = sample_payload()
    semaphore = asyncio.Semaphore(window)

    async def publish(i: int) -> None:
        async with semaphore:
            await js.publish("bench.lesson-completed", payload, headers={"Nats-Msg-Id": f"b{i}"})

    started = time.perf_counter()
    await asyncio.gather(*(publish(i) for i in range(count)))
    publish_rate = count / (time.perf_counter() - started)

    await js.add_consumer(
        BENCH_STREAM,
        # the services' own bound, which is also the most the account allows any consumer
        ConsumerConfig(
            durable_name="bench",
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=TopologySettings().max_ack_pending,
        ),
    )
    sub = await js.pull_subscribe_bind(durable="bench", stream=BENCH_STREAM)
    received = 0
    started = time.perf_counter()
    while received < count:
        messages = await sub.fetch(500, timeout=5)
        for message in messages:
            await message.ack()
        received += len(messages)
    consume_rate = count / (time.perf_counter() - started)
    await js.delete_stream(BENCH_STREAM)
    return {
        "jetstream_publish_per_s": publish_rate,
        "jetstream_consume_per_s": consume_rate,
        "jetstream_publish_and_consume_per_s": 1 / (1 / publish_rate + 1 / consume_rate),
    }


async def postgres_batched_inserts(database_url: str, rows: int, batch: int = 1000) -> float:
    """Plain batched INSERTs (executemany) of enrollment-shaped rows: rows per second."""
    conn = await connect_asyncpg(database_url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_inserts")
        await conn.execute(
            "CREATE TABLE bench_inserts (enrollment_id uuid PRIMARY KEY, learner_id uuid NOT NULL, "
            "course_id uuid NOT NULL, course_version int NOT NULL, course_title text NOT NULL, "
            "status text NOT NULL, enrolled_at timestamptz NOT NULL)"
        )
        course, now = uuid.uuid4(), datetime.now(UTC)
        records = [
            (uuid.uuid4(), uuid.uuid4(), course, 1, "Keuangan Desa", "enrolled", now)
            for _ in range(rows)
        ]
        started = time.perf_counter()
        for start in range(0, rows, batch):
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO bench_inserts VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    records[start : start + batch],
                )
        rate = rows / (time.perf_counter() - started)
        await conn.execute("DROP TABLE bench_inserts")
        return rate
    finally:
        await conn.close()


BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.post("/constant")
async def constant() -> dict[str, str]:
    return {"status": "ok"}
"""


def start_bare_endpoint(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    module = workdir / "bare_endpoint.py"
    module.write_text(BARE_APP)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_endpoint:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=workdir,
        env=os.environ | {"PYTHONPATH": str(workdir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def http_rate(
    make_request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    seconds: float,
    concurrency: int = 32,
) -> tuple[float, list[float], int]:
    """Requests per second (and latencies) for a fixed time with ``concurrency`` workers."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(
        max_connections=concurrency,
        max_keepalive_connections=concurrency,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal counter, errors
            while time.perf_counter() < deadline:
                counter += 1
                began = time.perf_counter()
                response = await make_request(client, counter)
                latencies.append(time.perf_counter() - began)
                if response.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


async def bare_endpoint_rate(
    workdir: Path, port: int, seconds: float, concurrency: int = 32
) -> float:
    process = start_bare_endpoint(workdir, port)
    try:
        url = f"http://127.0.0.1:{port}/constant"
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    await probe.post(url, timeout=0.5)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        rate, _, errors = await http_rate(
            lambda client, _i: client.post(url), seconds=seconds, concurrency=concurrency
        )
        assert errors == 0
        return rate
    finally:
        process.terminate()
        process.wait(10)
