"""A batch's lesson completions applied together (``store/lessons.py``) on real PostgreSQL and
NATS: the same outcome as one by one, whatever the duplicates, the order and the mix of
learners and course versions in the batch."""

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .test_completion_rules import graded
from .test_enrollment_api import events_of, publish
from .test_version_moves import (
    PERMENDAGRI_2027,
    V1_LESSONS,
    enrolled_on_version_1,
    lesson,
    two_versions,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


async def as_one_batch(service: RunningService, batch: list[c.CloudEvent[Any]]) -> None:
    """What the consumer does with a fetched batch: one transaction, its inbox and events."""
    consumer = service.runtime.consumer
    assert consumer is not None
    await consumer._apply(batch)


async def state(service: RunningService, enrolled: dict) -> tuple[str, int]:
    found = await service.client.get(
        f"/v1/enrollments/{enrolled['enrollment_id']}", headers=service.auth("admin")
    )
    return found.json()["status"], found.json()["lessons_completed"]


async def pass_post_test(service: RunningService, js: JetStreamContext, enrolled: dict) -> None:
    learner_id, course_id = uuid.UUID(enrolled["learner_id"]), uuid.UUID(enrolled["course_id"])
    await publish(js, graded(c.AssessmentKind.POST_TEST, learner_id, course_id, 90))
    url = f"/v1/enrollments/{enrolled['enrollment_id']}"
    await eventually(
        lambda: service.client.get(url, headers=service.auth("admin")),
        lambda r: r.json()["post_test_score"] == 90,
    )


async def test_a_batch_mixing_learners_versions_and_duplicates_completes_exactly_who_is_done(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    admin = enrollment.auth("admin")
    # Wa Ode follows version 1 and passed her post-test: her lessons complete the course.
    done = await enrolled_on_version_1(jetstream, enrollment, course_id, "Wa Ode Sitti")
    url = f"/v1/courses/{course_id}/learners/{done['learner_id']}/version"
    assert (await enrollment.client.put(url, json={"version": 1}, headers=admin)).is_success
    # La Ode follows version 2 (one lesson more) and passed too, but misses that lesson;
    # Andi follows version 2, has not started and takes no post-test yet.
    short = await enrolled_on_version_1(jetstream, enrollment, course_id, "La Ode Ali")
    fresh = await enrolled_on_version_1(jetstream, enrollment, course_id, "Andi Mappatunru")
    for passed in (done, short):
        await pass_post_test(enrollment, jetstream, passed)
    assert await state(enrollment, fresh) == ("enrolled", 0)

    def lessons() -> list[c.CloudEvent[Any]]:
        """Each lesson sent twice (a phone syncing again), a new event id each time."""
        told = [lesson(done, x, 1) for x in V1_LESSONS] + [lesson(short, x, 2) for x in V1_LESSONS]
        told.append(lesson(fresh, V1_LESSONS[0], 2))
        return [c.new_event(data) for data in told + told]

    batch = lessons()
    batch.append(batch[0])  # the same event twice in one batch
    random.Random(22).shuffle(batch)
    await as_one_batch(enrollment, batch)

    assert await state(enrollment, done) == ("completed", 3)
    assert await state(enrollment, short) == ("in_progress", 3)
    assert await state(enrollment, fresh) == ("in_progress", 1)
    certified = await eventually(
        lambda: events_of(jetstream, c.CertificateIssued.event_type), lambda found: len(found) == 1
    )
    assert certified[0].data.learner_id == uuid.UUID(done["learner_id"])
    assert certified[0].causationid in {
        str(e.id) for e in batch if e.data.learner_id == certified[0].data.learner_id
    }, "the completion is caused by one of the learner's lessons"

    # The batch again, as the stream would redeliver it, and the lessons sent once more in
    # reverse: nothing changes, nothing is published twice.
    await as_one_batch(enrollment, batch)
    again = lessons()
    again.reverse()
    await as_one_batch(enrollment, again)
    assert await state(enrollment, done) == ("completed", 3)
    assert await state(enrollment, short) == ("in_progress", 3)
    assert await state(enrollment, fresh) == ("in_progress", 1)
    for event_type in (c.CertificateIssued.event_type, c.CourseCompleted.event_type):
        assert len(await events_of(jetstream, event_type)) == 1


async def test_lessons_applied_together_before_the_post_test_complete_once_it_is_passed(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    learner = await enrolled_on_version_1(jetstream, enrollment, course_id, "Wa Ode Sitti")
    assert learner["course_version"] == 2, "enrolled on the latest version"
    await as_one_batch(
        enrollment, [c.new_event(lesson(learner, x, 2)) for x in [*V1_LESSONS, PERMENDAGRI_2027]]
    )
    assert await state(enrollment, learner) == ("in_progress", 4)
    assert await events_of(jetstream, c.CertificateIssued.event_type) == []
    await pass_post_test(enrollment, jetstream, learner)
    assert await state(enrollment, learner) == ("completed", 4)
