"""A regional integrator in Sulawesi Tenggara follows the province's events with the subscriber
kit, as a process of its own beside the five services: the kit's worked example fills the
province's own PostgreSQL table with exactly one row per event of province 74 and none of
Sulawesi Selatan's, through duplicates, a restart of the kit and a replay; it cannot read
another province; and the event documentation is served without a token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from lms_cli.stack import LocalStack
from lms_contracts import EVENT_TYPES, STREAM, regional_filter
from lms_contracts.subscriber.postgres import asyncpg_dsn
from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.servers import ensure_database
from servicekit.settings import ServiceSettings
from servicekit.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
OURS = ["74.01.01.2006", "74.05.02.2003", "74.71.01.1005"]  # Kolaka, Muna, Kendari
THEIRS = ["73.71.01.1001", "73.71.01.1002"]  # Makassar, Sulawesi Selatan


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(ports={name: free_port() for name in SERVICES}, external=False) as local:
        yield local


class Integrator:
    """The province's system: ``lms-subscriber postgres`` as a process of its own."""

    def __init__(self, stack: LocalStack, log_dir: Path, database_url: str) -> None:
        self.stack, self.log_dir, self.database_url = stack, log_dir, database_url
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str, region: str = "74") -> list[str]:
        return [
            sys.executable,
            "-m",
            "lms_contracts.subscriber",
            *args,
            "--region",
            region,
            "--url",
            self.stack.nats_url,
            "--user",
            "region-74",
            "--max-wait",
            "0.3",
        ]

    def env(self) -> dict[str, str]:
        return os.environ | {"NATS_PASSWORD": self.stack.passwords["region-74"]}

    def start(self, *extra: str) -> None:
        log = (self.log_dir / "subscriber.log").open("ab")
        self.process = subprocess.Popen(
            [*self.command("postgres", *extra), "--database-url", self.database_url],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def run(self, *args: str, region: str = "74") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, region=region),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    async def log(self) -> str:
        return (self.log_dir / "subscriber.log").read_text()

    async def rows(self) -> list[dict[str, Any]]:
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            rows = await connection.fetch(
                "SELECT event_id, event_type, village_code, payload FROM lms_events"
            )
        finally:
            await connection.close()
        return [dict(row) for row in rows]


async def stream_ids(stack: LocalStack, subject: str) -> set[str]:
    """Every event id the stream holds on ``subject``, read as the operator."""
    nc = await nats.connect(stack.nats_url, user="admin", password=stack.passwords["admin"])
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, stream=STREAM)
        ids: set[str] = set()
        while True:
            try:
                messages = await sub.fetch(500, timeout=1)
            except (nats.errors.TimeoutError, TimeoutError):
                return ids
            ids |= {m.headers["Nats-Msg-Id"] for m in messages if m.headers}
    finally:
        await nc.close()


async def region_74_and_catalog(stack: LocalStack) -> set[str]:
    return await stream_ids(stack, regional_filter("74")) | await stream_ids(
        stack, "lms.content.course-published.v1"
    )


async def rollout(stack: LocalStack) -> dict[str, list[str]]:
    """An instructor publishes a course; the admin registers learners in both provinces and
    enrolls them; each completes a lesson, one sends it twice."""
    settings = ServiceSettings()

    def auth(*roles: str, learner_id: str | None = None) -> dict[str, str]:
        token = mint_token(
            settings, roles=list(roles), learner_id=uuid.UUID(learner_id) if learner_id else None
        )
        return {"Authorization": f"Bearer {token}"}

    urls, admin = stack.urls, auth("admin")
    learners: dict[str, list[str]] = {"74": [], "73": []}
    async with httpx.AsyncClient(timeout=15) as http:
        course = await http.post(
            f"{urls['content']}/v1/courses",
            headers=auth("instructor"),
            json={
                "code": "KEU-74",
                "title": "Pengelolaan Keuangan Desa",
                "modules": [
                    {
                        "title": "APBDes",
                        "lessons": [
                            {
                                "title": "Siklus APBDes",
                                "kind": "text",
                                "body": "...",
                                "required": True,
                            }
                        ],
                    }
                ],
            },
        )
        assert course.status_code == 201, course.text
        course_id = course.json()["course_id"]
        lesson_id = course.json()["modules"][0]["lessons"][0]["lesson_id"]
        published = await http.post(
            f"{urls['content']}/v1/courses/{course_id}/publish", headers=auth("instructor")
        )
        assert published.status_code < 300, published.text
        await eventually(
            lambda: http.get(f"{urls['enrollment']}/v1/catalog", headers=admin),
            lambda r: any(c["course_id"] == course_id for c in r.json()),
        )
        for index, village in enumerate(OURS + THEIRS):
            learner = await http.post(
                f"{urls['enrollment']}/v1/learners",
                headers=admin,
                json={
                    "full_name": f"Aparat {index}",
                    "position": "kaur_keuangan",
                    "village_code": village,
                },
            )
            assert learner.status_code == 201, learner.text
            learner_id = learner.json()["learner_id"]
            learners[village[:2]].append(learner_id)
            me = auth("learner", learner_id=learner_id)
            enrolled = await http.post(
                f"{urls['enrollment']}/v1/enrollments",
                headers=me,
                json={"learner_id": learner_id, "course_id": course_id},
            )
            assert enrolled.status_code == 201, enrolled.text
            for _ in range(2 if index == 0 else 1):  # the first learner's app sends it twice
                await eventually(
                    lambda me=me: http.post(
                        f"{urls['content']}/v1/progress",
                        headers=me,
                        json={"course_id": course_id, "lesson_id": lesson_id},
                    ),
                    lambda r: r.status_code in (200, 201),
                )
        refused = await http.post(
            f"{urls['enrollment']}/v1/learners",
            headers=admin,
            json={"full_name": "X", "position": "kaur_keuangan", "village_code": "74.01.01.20O6"},
        )
        assert refused.status_code == 422 and "village_code" in refused.text
    return learners


def learner_types(rows: list[dict[str, Any]], learner_id: str) -> set[str]:
    return {r["event_type"] for r in rows if f'"{learner_id}"' in r["payload"]}


async def test_a_provincial_system_keeps_exactly_its_provinces_events_in_its_own_database(
    stack: LocalStack, tmp_path: Path
) -> None:
    database_url = await ensure_database(stack.server_url, f"kolaka_{uuid.uuid4().hex[:6]}")
    integrator = Integrator(stack, tmp_path, database_url)
    integrator.start()
    learners = await rollout(stack)

    async def caught_up() -> tuple[set[str], list[dict[str, Any]]]:
        return await region_74_and_catalog(stack), await integrator.rows()

    def complete(state: tuple[set[str], list[dict[str, Any]]]) -> bool:
        expected, rows = state
        return {str(r["event_id"]) for r in rows} == expected and all(
            {
                "lms.enrollment.learner-registered.v1",
                "lms.enrollment.enrolled.v1",
                "lms.content.lesson-completed.v1",
            }
            <= learner_types(rows, learner)
            for learner in learners["74"]
        )

    expected, rows = await eventually(caught_up, complete, timeout=90)
    assert len(rows) == len(expected)
    assert {r["village_code"][:3] for r in rows if r["village_code"]} == {"74."}
    assert not any(learner_types(rows, learner) for learner in learners["73"])
    assert {r["event_type"] for r in rows} <= set(EVENT_TYPES)
    assert integrator.stop() == 0

    # the checkpoint, as the integrator reads it
    status = integrator.run("status")
    assert status.returncode == 0, status.stderr
    assert "region-74 (lms.*.*.v1.74.>): acknowledged up to stream sequence" in status.stdout
    assert "0 not yet delivered, 0 awaiting acknowledgement" in status.stdout

    # a replay of the last hour: everything comes again, nothing is doubled
    integrator.start("--since", "1h")
    await eventually(integrator.log, lambda text: text.count("following 74") == 2, timeout=30)
    replayed = await eventually(
        lambda: asyncio.to_thread(integrator.run, "status"),
        lambda s: s.stdout.count("0 not yet delivered, 0 awaiting acknowledgement") == 2,
        timeout=60,
    )
    assert replayed.returncode == 0
    assert integrator.stop() == 0
    assert sorted(str(r["event_id"]) for r in await integrator.rows()) == sorted(expected)

    # its credentials do not reach another province
    other = integrator.run("status", region="73")
    assert other.returncode != 0
    assert "--region is the user's own region" in other.stderr


def test_the_event_documentation_is_served_without_a_token(stack: LocalStack) -> None:
    for url in stack.urls.values():
        document = httpx.get(f"{url}/asyncapi.json", timeout=5)
        assert document.status_code == 200 and document.json()["asyncapi"] == "3.0.0"
        page = httpx.get(f"{url}/asyncapi", timeout=5)
        assert page.status_code == 200 and "lms.content.lesson-completed.v1" in page.text
