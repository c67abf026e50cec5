"""`lms up` on this machine: everything starts with demo data, a service killed outright comes
back by itself, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def wait_until(condition, timeout: float, process: subprocess.Popen[bytes]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"lms up exited early with {process.returncode}"
        assert time.monotonic() < deadline, "lms up did not come up in time"
        time.sleep(0.25)


def ready(urls: list[str]) -> bool:
    try:
        return all(httpx.get(f"{url}/readyz", timeout=1).status_code == 200 for url in urls)
    except httpx.HTTPError:
        return False


def service_process(up: psutil.Process, name: str) -> psutil.Process | None:
    for child in up.children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if cmdline[-6:-4] == ["serve", name] and child.is_running():
            return child
    return None


def test_lms_up_starts_everything_restarts_a_killed_service_and_ctrl_c_stops_it_all(
    tmp_path: Path,
) -> None:
    base_port = 18000 + os.getpid() % 1000 * 5
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "lms_cli.main", "up", "--base-port", str(base_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    urls = [f"http://127.0.0.1:{base_port + i}" for i in range(len(SERVICES))]
    try:
        wait_until(lambda: "Press Ctrl-C" in (tmp_path / "up.log").read_text(), 180, process)
        assert ready(urls)
        admin = {"Authorization": "Bearer " + mint_token(ServiceSettings(), roles=["admin"])}
        learners = httpx.get(f"{urls[0]}/v1/learners?region_code=74", headers=admin).json()
        assert len(learners["items"]) >= 5
        assert all(item["village_code"].startswith("74.") for item in learners["items"])
        catalog = httpx.get(f"{urls[0]}/v1/catalog", headers=admin).json()
        assert {course["title"] for course in catalog} >= {"Pengelolaan Keuangan Desa"}
        up = psutil.Process(process.pid)

        # reporting dies outright (kill -9): the others serve on, and it comes back by itself
        reporting_url = urls[SERVICES.index("reporting")]
        killed = service_process(up, "reporting")
        assert killed is not None
        killed.kill()
        wait_until(lambda: "reporting is ready again" in log_text(tmp_path), 60, process)
        output = log_text(tmp_path)
        assert "reporting stopped (killed by SIGKILL); restarting in 1 s" in output
        assert "reporting restarted" in output
        assert ready(urls)
        back = service_process(up, "reporting")
        assert back is not None and back.pid != killed.pid
        national = httpx.get(f"{reporting_url}/v1/reports/national", headers=admin)
        assert national.status_code == 200, national.text
        assert httpx.get(f"{urls[0]}/v1/catalog", headers=admin).status_code == 200

        children = list(up.children(recursive=True))
        assert len(children) >= len(SERVICES)
        follow_the_printed_regional_subscriber((tmp_path / "up.log").read_text(), tmp_path)
        run_dirs = list(Path(tempfile.gettempdir()).glob(f"lms-run-{process.pid}-*"))
        assert run_dirs
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(90)
    output = (tmp_path / "up.log").read_text()
    assert process.returncode == 0, output[-3000:]
    leftovers = [
        p
        for p in psutil.process_iter(attrs=["cmdline"])
        if f"lms-run-{process.pid}-" in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
    assert all(not child.is_running() for child in children)
    assert not ready(urls[:1])
    assert not any(path.exists() for path in run_dirs)  # the data and logs folder is gone


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "up.log").read_text()


def follow_the_printed_regional_subscriber(output: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The command `lms up` prints for a regional system prints the demo's events of province
    74, keeps pulling through idle periods far longer than a pull, and stops cleanly."""
    (line,) = [x for x in output.splitlines() if x.startswith("python -m lms_contracts.subscriber")]
    log = tmp_path / "subscriber.log"
    with log.open("wb") as out:
        subscriber = subprocess.Popen(
            [sys.executable, *line.split()[1:]], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: log.read_text().count('"village_code": "74.') >= 5, 60, subscriber)
        time.sleep(5)  # five pulls' worth of nothing: the documented command used to crash here
        assert subscriber.poll() is None, log.read_text()[-2000:]
        assert "Traceback" not in log.read_text()
    finally:
        subscriber.send_signal(signal.SIGINT)
        assert subscriber.wait(30) == 0, log.read_text()[-2000:]
