"""Reporting rides out a PostgreSQL outage under load: no dead letters, exact reports after.

The production policy dead-letters a failing message 156 s after its first delivery (retries
after 1, 5, 30 and 120 s) and the server gives out again what is not acknowledged within 30 s,
so a five-minute outage outlasts the policy about twice and the ack wait ten times. What
decides the outcome is not the outage's length but whether the consumer counts it against
the messages: if it did, every message in hand would be dead-lettered once the schedule ran
out, whatever came after. Nothing else in the consumer depends on how long the database is
away (the held batch is reported in progress every 2 s and the database tried every 2 s at
most, whether for a minute or an hour). So the policy is scaled down by configuration instead
of waiting five minutes: retries after 0.5 and 1.5 s (dead letters 2 s after the first
delivery) on a server that redelivers after 5 s, against a 25 s outage, which outlasts the
policy twelve times and the ack wait five times: the same property, with a wider margin.
"""

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.deadletters import count_dead_letters
from servicekit.servers import LocalPostgres, ensure_database
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
# Sulawesi Tenggara: Towua and Lambandia (Kolaka), and a village of Konawe
VILLAGES = ["74.01.01.2006", "74.01.01.2007", "74.02.01.2006"]
OUTAGE_SECONDS = 25.0
STORIES_PER_SECOND = 2.5  # about 20 events a second


def story(index: int, course: uuid.UUID, lesson: uuid.UUID) -> list[c.EventData]:
    """A village official registers, enrols, fails the pre-test, completes the lesson; every
    second one passes the post-test, completes the course and is certified."""
    learner, enrollment, village = uuid.uuid4(), uuid.uuid4(), VILLAGES[index % len(VILLAGES)]
    events: list[c.EventData] = [
        c.LearnerRegistered(
            learner_id=learner,
            full_name=f"Aparatur {index}",
            position="sekretaris_desa",
            village_code=village,
            registered_at=NOW,
        ),
        c.Enrolled(
            enrollment_id=enrollment,
            learner_id=learner,
            course_id=course,
            course_version=1,
            course_title="Pengelolaan Keuangan Desa",
            village_code=village,
            position="sekretaris_desa",
            cohort="Angkatan 1",
            enrolled_at=NOW,
        ),
        c.Failed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind="pre_test",
            learner_id=learner,
            course_id=course,
            village_code=village,
            score=40,
            pass_score=70,
            attempt_number=1,
            graded_at=NOW,
        ),
        c.LessonCompleted(
            learner_id=learner,
            course_id=course,
            course_version=1,
            lesson_id=lesson,
            village_code=village,
            completed_at=NOW,
            recorded_at=NOW,
        ),
    ]
    if index % 2 == 0:
        events += [
            c.Passed(
                attempt_id=uuid.uuid4(),
                assessment_id=uuid.uuid4(),
                assessment_kind="post_test",
                learner_id=learner,
                course_id=course,
                village_code=village,
                score=90,
                pass_score=70,
                attempt_number=1,
                graded_at=NOW,
            ),
            c.CourseCompleted(
                enrollment_id=enrollment,
                learner_id=learner,
                course_id=course,
                course_version=1,
                village_code=village,
                score=90,
                completed_at=NOW,
            ),
            c.CertificateIssued(
                certificate_id=uuid.uuid4(),
                verification_code=f"SULTRA-{index}",
                enrollment_id=enrollment,
                learner_id=learner,
                course_id=course,
                course_title="Pengelolaan Keuangan Desa",
                village_code=village,
                score=90,
                issued_at=NOW,
            ),
        ]
    return events


@dataclass
class Load:
    """Stories published at a steady rate, as the other services (with databases of their
    own) go on publishing while reporting's is away; one event in ten twice."""

    js: JetStreamContext
    course: uuid.UUID = field(default_factory=uuid.uuid4)
    lesson: uuid.UUID = field(default_factory=uuid.uuid4)
    stories: int = 0
    events: int = 0
    running: bool = True

    async def run(self) -> None:
        duplicates = random.Random(21)
        while self.running:
            for data in story(self.stories, self.course, self.lesson):
                event = c.new_event(data)
                copies = 2 if duplicates.random() < 0.1 else 1
                for copy in range(copies):
                    await self.js.publish(
                        c.subject_of(data),
                        event.to_json(),
                        headers={"Nats-Msg-Id": f"{event.id}-{copy}"},
                    )
                self.events += copies
            self.stories += 1
            await asyncio.sleep(1 / STORIES_PER_SECOND)


@pytest.fixture
async def reporting(
    own_postgres: LocalPostgres, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    """Reporting on a PostgreSQL of its own, with the retry policy scaled down; the topology
    (the ``jetstream`` fixture) redelivers after 5 s."""
    url = await ensure_database(own_postgres.url("postgres"), "reporting")
    async with running_service(
        "reporting", url, nats_url, consumer_max_deliver=3, consumer_retry_delays=[0.5, 1.5]
    ) as service:
        yield service


async def settled(js: JetStreamContext) -> None:
    async def pending() -> int:
        info = await js.consumer_info("LMS", "reporting")
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    await eventually(pending, lambda n: n == 0, timeout=60)


def gauge(exposition: str, name: str) -> float:
    found = re.search(rf'^{name}\{{consumer="reporting"\}} (\S+)$', exposition, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


async def test_a_long_database_outage_under_load_dead_letters_nothing_and_reports_exactly(
    reporting: RunningService, own_postgres: LocalPostgres, jetstream: JetStreamContext
) -> None:
    admin = reporting.auth("admin")
    load = Load(jetstream)
    publishing = asyncio.create_task(load.run())
    await asyncio.sleep(3)
    await asyncio.to_thread(own_postgres.halt)
    loop = asyncio.get_running_loop()
    halted = loop.time()

    # The operator sees why nothing moves: not ready (no database), the consumer paused.
    refused = await eventually(
        lambda: reporting.client.get("/readyz"),
        lambda r: r.status_code == 503 and r.json()["checks"]["consumer"]["state"] == "paused",
    )
    assert refused.json()["checks"]["consumer"]["reason"] == "database unavailable"
    metrics = (await reporting.client.get("/metrics")).text
    assert gauge(metrics, "lms_consumer_paused") == 1
    await asyncio.sleep(OUTAGE_SECONDS - (loop.time() - halted))
    await asyncio.to_thread(own_postgres.resume)
    await asyncio.sleep(2)
    load.running = False
    await publishing
    await settled(jetstream)

    assert await count_dead_letters(jetstream) == 0
    ready = await reporting.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["consumer"] == {"state": "running"}
    assert gauge((await reporting.client.get("/metrics")).text, "lms_consumer_paused") == 0
    stories, certified = load.stories, (load.stories + 1) // 2
    print(
        f"{load.events} events of {stories} officials, {OUTAGE_SECONDS:.0f} s without the database"
    )
    national = (await reporting.client.get("/v1/reports/national", headers=admin)).json()
    totals = national["totals"]
    assert {
        k: totals[k] for k in ("registered", "enrolled", "completed", "passed", "certified")
    } == {
        "registered": stories,
        "enrolled": stories,
        "completed": certified,
        "passed": certified,
        "certified": certified,
    }
    assert (totals["avg_pre_test"], totals["avg_post_test"]) == (40, 90)
    sultra = (await reporting.client.get("/v1/reports/regions/74", headers=admin)).json()
    assert sultra["region"]["name"] == "Sulawesi Tenggara"
    assert sultra["totals"]["registered"] == stories
    kolaka = (await reporting.client.get("/v1/reports/regions/74.01.01", headers=admin)).json()
    towua = next(v for v in kolaka["children"] if v["region"]["code"] == "74.01.01.2006")
    assert towua["region"]["name"] == "Towua"
    assert towua["totals"]["registered"] == len(range(0, stories, len(VILLAGES)))
