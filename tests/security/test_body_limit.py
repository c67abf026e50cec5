"""A body larger than the cap, sent chunked and without a token, is refused while it streams
in: the service's memory does not grow with it (a real uvicorn process, measured)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from servicekit.migrations import upgrade
from servicekit.registry import service

pytestmark = pytest.mark.integration
MB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def enrollment_process(
    make_database: object, nats_url: str, jetstream: object, tmp_path: Path
) -> Iterator[tuple[str, psutil.Process]]:
    database_url = make_database("body")  # type: ignore[operator]
    upgrade(service("enrollment").main().MIGRATIONS, database_url)
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENVIRONMENT": "test",
    }
    log = (tmp_path / "enrollment.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "lms_cli.main", "serve", "enrollment", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "enrollment.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "enrollment did not become ready"
            time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def high_water_mark(process: psutil.Process) -> int:
    """Peak resident memory of the process so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_400_mb_chunked_body_without_a_token_leaves_memory_flat(
    enrollment_process: tuple[str, psutil.Process],
) -> None:
    url, process = enrollment_process
    # warm the request path first: what it loads once is not what a body costs
    for _ in range(3):
        assert httpx.post(f"{url}/v1/learners", content=b"{}").status_code == 401
    before = process.memory_info().rss
    peak_before = high_water_mark(process)
    sent = 0
    sampled = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sampled.append(process.memory_info().rss)
            time.sleep(0.02)

    def body() -> Iterator[bytes]:
        nonlocal sent
        while sent < 400 * MB:
            sent += len(CHUNK)
            yield CHUNK

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        response = httpx.post(
            f"{url}/v1/learners",
            content=body(),  # a generator: sent with Transfer-Encoding: chunked
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert sent < 400 * MB, "the service read the whole body before refusing it"
    peak = max(sampled)
    if high_water_mark(process) > peak_before:  # a new peak, perhaps between two samples
        peak = max(peak, high_water_mark(process))
    assert peak - before < 50 * MB, f"RSS {before / MB:.0f} MB -> peak {peak / MB:.0f} MB"
    # the service goes on answering
    assert httpx.get(f"{url}/healthz").status_code == 200
