"""The subscriber kit against a real nats-server, as a province's system runs it: with the
region's own NATS user and permissions, writing into its own PostgreSQL table through idle
pulls, a server restart, a new event type, duplicates and a replay."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from lms_contracts import (
    CloudEvent,
    Enrolled,
    EventData,
    LearnerRegistered,
    LessonCompleted,
    new_event,
    subject_of,
)
from lms_contracts.subscriber import Subscriber
from lms_contracts.subscriber.postgres import asyncpg_dsn, follow_into_postgres
from servicekit import regions
from servicekit.natsauth import ADMIN, all_users, generate_passwords, server_config
from servicekit.servers import NatsServer
from servicekit.testing.waiting import eventually
from servicekit.topology import apply_topology

pytestmark = pytest.mark.integration
REGIONS = ["74", "74.01"]
MAX_WAIT = 0.25  # seconds a pull waits: idle periods below are many of these
ACK_WAIT = 3.0  # acknowledgements lost with a killed server: redelivered after this long


@dataclass
class Platform:
    """The platform's side: a nats-server with the generated users, and its publisher."""

    server: NatsServer
    passwords: dict[str, str]
    nc: Any = None
    published: dict[str, list[CloudEvent[EventData]]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    async def publish_raw(self, subject: str, body: bytes, msg_id: str | None) -> None:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        for _ in range(100):  # through a server restart: the same id, so never twice
            try:
                await self.nc.jetstream().publish(subject, body, headers=headers, timeout=1)
                return
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                await asyncio.sleep(0.1)
        raise AssertionError(f"could not publish on {subject}")

    async def publish(self, data: EventData) -> CloudEvent[EventData]:
        event = new_event(data)
        await self.publish_raw(subject_of(data), event.to_json(), str(event.id))
        self.published.setdefault(data.village_code[:2], []).append(event)  # type: ignore[attr-defined]
        return event


@pytest.fixture
async def platform(run_dir: Path) -> AsyncIterator[Platform]:
    passwords = generate_passwords(REGIONS)
    workdir = run_dir / f"kit-{uuid.uuid4().hex[:6]}"
    workdir.mkdir()
    config = workdir / "nats.conf"
    config.write_text(server_config(all_users(passwords, REGIONS)))
    server = NatsServer(workdir, config_file=config)
    server.start()
    platform = Platform(server, passwords)
    try:
        platform.nc = await nats.connect(
            server.url,
            user=ADMIN,
            password=passwords[ADMIN],
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
        )
        await apply_topology(platform.nc.jetstream())
        yield platform
        await platform.nc.close()
    finally:
        server.stop()


class Rollout:
    """Learners in real villages of Sulawesi Tenggara (74), Sulawesi Selatan (73) and Jawa
    Barat (32): registrations, enrollments and mostly lesson completions."""

    def __init__(self, seed: int = 74) -> None:
        self.rng = random.Random(seed)
        self.villages = {p: sorted(regions.villages_of_province(p)) for p in ("74", "73", "32")}

    def event(self) -> EventData:
        province = self.rng.choice(list(self.villages))
        village = self.rng.choice(self.villages[province])
        now = datetime.now(UTC)
        ids = {"learner_id": uuid.uuid4(), "village_code": village}
        kind = self.rng.random()
        if kind < 0.15:
            return LearnerRegistered(
                full_name="La Ode Budi", position="kepala_dusun", registered_at=now, **ids
            )
        if kind < 0.3:
            return Enrolled(
                enrollment_id=uuid.uuid4(),
                course_id=uuid.uuid4(),
                course_version=1,
                course_title="Pengelolaan Keuangan Desa",
                position="kepala_dusun",
                enrolled_at=now,
                **ids,
            )
        return LessonCompleted(
            course_id=uuid.uuid4(),
            course_version=1,
            lesson_id=uuid.uuid4(),
            completed_at=now,
            recorded_at=now,
            **ids,
        )

    async def publish(self, platform: Platform, count: int, during: Callable[[int], Any]) -> None:
        """``count`` events in paced chunks; ``during(i)`` runs before the i-th chunk."""
        for chunk in range(0, count, 100):
            await during(chunk)
            for _ in range(min(100, count - chunk)):
                await platform.publish(self.event())
            await asyncio.sleep(0.05)  # spread over the run, as a day's traffic is


class Integrator:
    """The province's system: the kit writing into its own PostgreSQL table."""

    def __init__(self, platform: Platform, database_url: str) -> None:
        self.platform, self.database_url = platform, database_url
        self.kit: Subscriber | None = None
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()

    async def start(self, since: datetime | None = None) -> Subscriber:
        self.stop = asyncio.Event()
        self.kit = Subscriber(
            "74",
            url=self.platform.url,
            password=self.platform.passwords["region-74"],
            batch_size=50,
            max_wait=MAX_WAIT,
            ack_wait=ACK_WAIT,
        )
        self.task = asyncio.create_task(
            follow_into_postgres(self.kit, self.database_url, since=since, stop=self.stop)
        )
        return self.kit

    async def close(self) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)

    async def rows(self) -> dict[str, Any]:
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            events = await connection.fetch("SELECT event_id, village_code FROM lms_events")
            lessons = await connection.fetch("SELECT * FROM village_lessons")
        finally:
            await connection.close()
        return {
            "ids": {str(r["event_id"]) for r in events},
            "count": len(events),
            "villages": {r["village_code"] for r in events},
            "lessons": {r["village_code"]: r["lessons_completed"] for r in lessons},
        }


def lesson(village_code: str) -> LessonCompleted:
    now = datetime.now(UTC)
    return LessonCompleted(
        learner_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        course_version=1,
        lesson_id=uuid.uuid4(),
        village_code=village_code,
        completed_at=now,
        recorded_at=now,
    )


def restarts(caplog: pytest.LogCaptureFixture) -> list[str]:
    """FastStream's supervisor logs each end of a pull loop it restarts."""
    return [r.getMessage() for r in caplog.records if "callback for" in r.getMessage()]


def region_74(platform: Platform) -> dict[str, CloudEvent[EventData]]:
    return {str(e.id): e for e in platform.published.get("74", [])}


def lessons_by_village(events: dict[str, CloudEvent[EventData]]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for event in events.values():
        if isinstance(event.data, LessonCompleted):
            village = event.data.village_code
            counted[village] = counted.get(village, 0) + 1
    return counted


async def test_the_kit_writes_each_event_of_its_region_once_through_idling_restart_and_replay(
    platform: Platform, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "lms_contracts.subscriber")
    started_at = datetime.now(UTC)
    rollout, integrator = Rollout(), Integrator(platform, database_url)
    kit = await integrator.start()

    async def nothing(_: int) -> None:
        return None

    await rollout.publish(platform, 1500, nothing)
    await eventually(integrator.rows, lambda r: r["count"] == len(region_74(platform)), timeout=60)

    # idle for many pulls' worth: the loop keeps pulling, nothing is restarted
    await asyncio.sleep(12 * MAX_WAIT)
    assert restarts(caplog) == []
    assert integrator.task is not None and not integrator.task.done()

    # a v1 type this kit does not know, a newer minor version, a malformed event
    newer = {"id": str(uuid.uuid4()), "type": "lms.content.lesson-bookmarked.v1", "data": {}}
    for _ in range(3):
        await platform.publish_raw(
            "lms.content.lesson-bookmarked.v1.74.01.01.2006", json.dumps(newer).encode(), None
        )
    data = lesson("74.10.01.2001")
    minor = json.loads(new_event(data).to_json()) | {"minorversion": 3}
    minor["data"]["device"] = "android"
    await platform.publish_raw(subject_of(data), json.dumps(minor).encode(), minor["id"])
    broken = json.loads(new_event(data).to_json())
    del broken["data"]["learner_id"]
    await platform.publish_raw(subject_of(data), json.dumps(broken).encode(), broken["id"])

    async def restart_midway(chunk: int) -> None:
        if chunk == 400:
            await asyncio.to_thread(platform.server.restart, hard=True)

    await rollout.publish(platform, 900, restart_midway)
    # re-published after a broker failure, past the de-duplication window: the same events
    for event in list(region_74(platform).values())[:50]:
        await platform.publish_raw(subject_of(event.data), event.to_json(), None)

    expected = region_74(platform)
    expected[minor["id"]] = new_event(data)  # counted as the 74 event it is
    rows = await eventually(integrator.rows, lambda r: r["count"] >= len(expected), timeout=60)
    assert rows["ids"] == set(expected)
    assert all(village.startswith("74.") for village in rows["villages"])
    assert rows["lessons"] == lessons_by_village(expected)
    assert kit.counts["unknown"] == 3 and kit.counts["malformed"] == 1
    settled = await eventually(
        kit.checkpoints, lambda c: c[0].pending == 0 and c[0].awaiting_ack == 0, timeout=30
    )
    assert settled[0].acknowledged_sequence > 0 and settled[0].acknowledged_at is not None
    await integrator.close()

    # replay from before the first event: everything again, nothing doubled
    replay = await integrator.start(since=started_at)
    delivered_again = len(expected) + 50
    await eventually(
        lambda: _counted(replay), lambda c: c.get("handled", 0) >= delivered_again, timeout=60
    )
    await integrator.close()
    again = await integrator.rows()
    assert again["ids"] == set(expected) and again["lessons"] == rows["lessons"]


async def _counted(kit: Subscriber) -> dict[str, int]:
    return kit.counts


async def test_idle_pulls_far_longer_than_the_pull_timeout_never_end_the_pull_loop(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "lms_contracts.subscriber")
    kit = Subscriber("74.01", url=platform.url, password=platform.passwords["region-74-01"])
    kit.max_wait = 0.1
    seen: list[CloudEvent[LessonCompleted]] = []

    @kit.on(LessonCompleted)
    async def handle(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(event)

    await kit.start()
    try:
        assert kit.broker is not None
        fetches = [s.subscription.fetch for s in kit.broker.subscribers]  # type: ignore[attr-defined]
        assert [f.__name__ for f in fetches] == ["fetch_or_time_out"]
        await asyncio.sleep(40 * kit.max_wait)
        assert restarts(caplog) == []
        event = await platform.publish(lesson("74.01.01.2006"))

        async def handled() -> list[Any]:
            return [e.id for e in seen]

        await eventually(handled, lambda ids: ids == [event.id])
    finally:
        await kit.close()


async def test_the_kit_as_a_faststream_application_follows_its_region(
    platform: Platform,
) -> None:
    from faststream import TestApp

    kit = Subscriber("74.01", url=platform.url, password=platform.passwords["region-74-01"])
    seen: list[Any] = []

    @kit.on(LessonCompleted)
    async def handle(event: CloudEvent[LessonCompleted]) -> None:
        seen.append(event.id)

    ours = await platform.publish(lesson("74.01.01.2006"))
    await platform.publish(lesson("74.02.01.2006"))  # the province's, not this regency's
    async with TestApp(kit.app()):
        await eventually(lambda: _ids(seen), lambda ids: ids == [ours.id])
        assert await platform_checkpoint(kit) == 0


async def _ids(seen: list[Any]) -> list[Any]:
    return list(seen)


async def platform_checkpoint(kit: Subscriber) -> int:
    (checkpoint,) = await kit.checkpoints()
    return checkpoint.pending


async def test_a_region_cannot_follow_another_region_with_its_credentials(
    platform: Platform,
) -> None:
    kit = Subscriber(
        "73", url=platform.url, user="region-74", password=platform.passwords["region-74"]
    )
    kit.on(LessonCompleted)(_ignore)
    with pytest.raises(Exception):  # noqa: B017 - refused by the server, surfaces as a timeout
        await asyncio.wait_for(kit.start(), 30)
    await kit.close()


async def _ignore(event: CloudEvent[LessonCompleted]) -> None:
    return None
