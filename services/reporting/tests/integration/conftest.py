"""What the dashboard and export tests share: the reporting service on real PostgreSQL and
NATS with the region tree loaded, and officials of Sulawesi Tenggara (province 74) in real
villages, brought in as events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .oidc_provider import Provider, serving_provider

NOW = datetime.now(UTC)
TOWUA = "74.01.01.2006"  # Kolaka, Wundulako
BENDE = "74.01.01.2007"
AWULITI = "74.02.01.2006"  # Konawe


@dataclass
class Province74:
    """Officials of province 74: who is where, the course, and what each did."""

    course_id: uuid.UUID = field(default_factory=uuid.uuid4)
    lessons: list[uuid.UUID] = field(default_factory=lambda: [uuid.uuid4() for _ in range(4)])
    names: dict[str, str] = field(default_factory=dict)  # learner id -> name
    villages: dict[str, str] = field(default_factory=dict)  # learner id -> village code


def official_story(
    data: Province74, name: str, village: str, position: str, lessons_done: int, passed: bool
) -> list[c.EventData]:
    learner, enrollment = uuid.uuid4(), uuid.uuid4()
    data.names[str(learner)], data.villages[str(learner)] = name, village
    when = NOW - timedelta(days=3)
    events: list[c.EventData] = [
        c.LearnerRegistered(
            learner_id=learner,
            full_name=name,
            position=position,
            village_code=village,
            registered_at=when,
        ),
        c.Enrolled(
            enrollment_id=enrollment,
            learner_id=learner,
            course_id=data.course_id,
            course_version=1,
            course_title="Pengelolaan Keuangan Desa",
            village_code=village,
            position=position,
            cohort="Angkatan 1",
            enrolled_at=when,
        ),
        c.Failed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind="pre_test",
            learner_id=learner,
            course_id=data.course_id,
            village_code=village,
            score=40,
            pass_score=70,
            attempt_number=1,
            graded_at=when,
        ),
    ]
    events += [
        c.LessonCompleted(
            learner_id=learner,
            course_id=data.course_id,
            course_version=1,
            lesson_id=lesson,
            village_code=village,
            completed_at=NOW,
            recorded_at=NOW,
        )
        for lesson in data.lessons[:lessons_done]
    ]
    if passed:
        events += [
            c.Passed(
                attempt_id=uuid.uuid4(),
                assessment_id=uuid.uuid4(),
                assessment_kind="post_test",
                learner_id=learner,
                course_id=data.course_id,
                village_code=village,
                score=85.5,
                pass_score=70,
                attempt_number=1,
                graded_at=NOW,
            ),
            c.CourseCompleted(
                enrollment_id=enrollment,
                learner_id=learner,
                course_id=data.course_id,
                course_version=1,
                village_code=village,
                score=85.5,
                completed_at=NOW,
            ),
        ]
    return events


def province_74_events(data: Province74) -> list[c.EventData]:
    """Three officials in Towua (two of them done), one in Bende, one in Awuliti (Konawe);
    one name that a spreadsheet would take for a formula."""
    published = c.CoursePublished(
        course_id=data.course_id,
        course_version=1,
        code="KEU-01",
        title="Pengelolaan Keuangan Desa",
        lesson_ids=data.lessons,
        required_lesson_ids=data.lessons,
        published_at=NOW - timedelta(days=30),
    )
    return [
        published,
        *official_story(data, "Wa Ode Hasnia", TOWUA, "kepala_desa", 4, True),
        *official_story(data, "La Ode Rahman", TOWUA, "sekretaris_desa", 4, True),
        *official_story(data, '=HYPERLINK("http://x")', TOWUA, "kaur_keuangan", 0, False),
        *official_story(data, "Andi Baso", BENDE, "kepala_desa", 2, False),
        *official_story(data, "Sitti Rahma", AWULITI, "kepala_desa", 0, False),
    ]


async def settled(js: JetStreamContext) -> None:
    """Until the reporting consumer has applied and acknowledged everything published."""

    async def pending() -> int:
        info = await js.consumer_info("LMS", "reporting")
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    await eventually(pending, lambda n: n == 0)


Publish = Callable[[list[c.EventData]], Awaitable[None]]


@pytest.fixture
def publish(jetstream: JetStreamContext) -> Publish:
    async def publish_and_settle(events: list[c.EventData]) -> None:
        for data in events:
            event = c.new_event(data)
            await jetstream.publish(
                c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)}
            )
        await settled(jetstream)

    return publish_and_settle


@pytest.fixture
async def reporting_74(
    database_url: str, nats_url: str, jetstream: JetStreamContext, publish: Publish
) -> AsyncIterator[tuple[RunningService, Province74]]:
    async with running_service("reporting", database_url, nats_url) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        data = Province74()
        await publish(province_74_events(data))
        yield service, data


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """A real OpenID Connect provider on a loopback port, for the module's tests."""
    with serving_provider() as found:
        yield found
