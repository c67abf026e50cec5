"""Moving learners to another course version over HTTP, on real PostgreSQL and NATS: one
learner at a time or a whole course as a job, each move an event."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .test_enrollment_api import TOWUA, events_of, publish, register

pytestmark = pytest.mark.integration
V1_LESSONS = [uuid.uuid4() for _ in range(3)]
PERMENDAGRI_2027 = uuid.uuid4()


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


async def two_versions(js: JetStreamContext, service: RunningService) -> uuid.UUID:
    course_id = uuid.uuid4()
    for version, lessons in ((1, V1_LESSONS), (2, [*V1_LESSONS, PERMENDAGRI_2027])):
        await publish(
            js,
            c.CoursePublished(
                course_id=course_id,
                course_version=version,
                code="ADM-01",
                title="Administrasi Pemerintahan Desa",
                lesson_ids=lessons,
                required_lesson_ids=lessons,
                published_at=datetime.now(UTC),
            ),
        )
    await eventually(
        lambda: service.client.get("/v1/catalog", headers=service.auth("admin")),
        lambda r: any(x["version"] == 2 for x in r.json()),
    )
    return course_id


async def enrolled_on_version_1(
    js: JetStreamContext, service: RunningService, course_id: uuid.UUID, name: str
) -> dict:
    learner = await register(service, full_name=name, phone=None, email=None)
    response = await service.client.post(
        "/v1/enrollments",
        json={"learner_id": learner["learner_id"], "course_id": str(course_id)},
        headers=service.auth("admin"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def lesson(enrollment: dict, lesson_id: uuid.UUID, version: int) -> c.LessonCompleted:
    now = datetime.now(UTC)
    return c.LessonCompleted(
        learner_id=uuid.UUID(enrollment["learner_id"]),
        course_id=uuid.UUID(enrollment["course_id"]),
        course_version=version,
        lesson_id=lesson_id,
        village_code=TOWUA,
        completed_at=now,
        recorded_at=now,
    )


async def test_a_move_is_published_and_the_old_lessons_count_in_the_new_version(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    learner = await enrolled_on_version_1(jetstream, enrollment, course_id, "La Ode Muhammad")
    # enrolled on the latest version: move them back to 1 first, as an admin would
    admin = enrollment.auth("admin")
    url = f"/v1/courses/{course_id}/learners/{learner['learner_id']}/version"
    back = await enrollment.client.put(url, json={"version": 1}, headers=admin)
    assert back.status_code == 200 and back.json()["course_version"] == 1
    for lesson_id in V1_LESSONS:
        await publish(jetstream, lesson(learner, lesson_id, 1))
    own = f"/v1/enrollments/{learner['enrollment_id']}"
    await eventually(
        lambda: enrollment.client.get(own, headers=admin),
        lambda r: r.json()["lessons_completed"] == 3,
    )
    moved = await enrollment.client.put(url, json={"version": 2}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["course_version"], moved.json()["lessons_completed"]) == (2, 3)
    again = await enrollment.client.put(url, json={"version": 2}, headers=admin)
    assert again.json() == moved.json()
    found = await eventually(
        lambda: events_of(jetstream, c.CourseVersionChanged.event_type),
        lambda found: len(found) == 2,
    )
    assert [(e.data.from_version, e.data.course_version, e.data.move_number) for e in found] == [
        (2, 1, 1),
        (1, 2, 2),
    ]
    assert found[-1].subject is None or found[-1].data.village_code == TOWUA
    listed = await enrollment.client.get(f"/v1/enrollments?course_id={course_id}", headers=admin)
    assert [(x["course_version"], x["lessons_completed"]) for x in listed.json()["items"]] == [
        (2, 3)
    ]


@pytest.mark.parametrize(
    ("version", "learner", "status", "code", "field"),
    [
        (7, "enrolled", 422, "unknown_version", "version"),
        (0, "enrolled", 422, "validation_failed", "version"),
        (2, "stranger", 422, "not_enrolled", "learner_id"),
    ],
)
async def test_bad_moves_get_a_problem_naming_the_field(
    enrollment: RunningService,
    jetstream: JetStreamContext,
    version: int,
    learner: str,
    status: int,
    code: str,
    field: str,
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    enrolled = await enrolled_on_version_1(jetstream, enrollment, course_id, "Wa Ode Sitti")
    learner_id = enrolled["learner_id"] if learner == "enrolled" else str(uuid.uuid4())
    response = await enrollment.client.put(
        f"/v1/courses/{course_id}/learners/{learner_id}/version",
        json={"version": version},
        headers=enrollment.auth("instructor"),
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["errors"][0]["field"]) == (code, field)
    learner_token = enrollment.auth("learner", learner_id=uuid.UUID(enrolled["learner_id"]))
    forbidden = await enrollment.client.put(
        f"/v1/courses/{course_id}/learners/{enrolled['learner_id']}/version",
        json={"version": 1},
        headers=learner_token,
    )
    assert forbidden.status_code == 403


async def test_a_missing_version_is_told_in_indonesian_or_english(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    """The instructor sees the version they asked for in a sentence of their language."""
    course_id = await two_versions(jetstream, enrollment)
    enrolled = await enrolled_on_version_1(jetstream, enrollment, course_id, "Wa Ode Sitti")
    told = {}
    for language in ("id-ID", "en"):
        response = await enrollment.client.put(
            f"/v1/courses/{course_id}/learners/{enrolled['learner_id']}/version",
            json={"version": 12},
            headers=enrollment.auth("instructor") | {"Accept-Language": language},
        )
        assert (response.status_code, response.json()["code"]) == (422, "unknown_version")
        told[language[:2]] = response.json()["errors"]
    assert told == {
        "id": [{"field": "version", "message": "pelatihan ini tidak memiliki versi terbit 12"}],
        "en": [{"field": "version", "message": "this course has no published version 12"}],
    }


async def test_a_learner_who_completed_is_not_moved(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    learner = await enrolled_on_version_1(jetstream, enrollment, course_id, "Wa Ode Sitti")
    for lesson_id in [*V1_LESSONS, PERMENDAGRI_2027]:
        await publish(jetstream, lesson(learner, lesson_id, 2))
    await publish(
        jetstream,
        c.Passed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=c.AssessmentKind.POST_TEST,
            learner_id=uuid.UUID(learner["learner_id"]),
            course_id=course_id,
            village_code=TOWUA,
            score=90,
            pass_score=70,
            attempt_number=1,
            graded_at=datetime.now(UTC),
        ),
    )
    admin = enrollment.auth("admin")
    await eventually(
        lambda: enrollment.client.get(f"/v1/enrollments/{learner['enrollment_id']}", headers=admin),
        lambda r: r.json()["status"] == "completed",
    )
    refused = await enrollment.client.put(
        f"/v1/courses/{course_id}/learners/{learner['learner_id']}/version",
        json={"version": 1},
        headers=admin,
    )
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "enrollment_completed",
        "learner_id",
    )


async def test_a_course_move_job_moves_every_unfinished_learner_once_with_progress(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await two_versions(jetstream, enrollment)
    learners = [
        await enrolled_on_version_1(jetstream, enrollment, course_id, f"Aparatur {i}")
        for i in range(5)
    ]
    admin = enrollment.auth("admin")
    for learner in learners:
        response = await enrollment.client.put(
            f"/v1/courses/{course_id}/learners/{learner['learner_id']}/version",
            json={"version": 1},
            headers=admin,
        )
        assert response.status_code == 200
    withdrawn = await enrollment.client.delete(
        f"/v1/enrollments/{learners[0]['enrollment_id']}", headers=admin
    )
    assert withdrawn.status_code == 200
    started = await enrollment.client.post(
        f"/v1/courses/{course_id}/version-moves", json={"version": 2}, headers=admin
    )
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 4 and started.json()["kind"] == "version_move"
    job = await eventually(
        lambda: enrollment.client.get(started.headers["Location"], headers=admin),
        lambda r: r.json()["state"] == "completed",
    )
    assert (job.json()["done"], job.json()["skipped"]) == (4, 0)
    listed = await enrollment.client.get(f"/v1/enrollments?course_id={course_id}", headers=admin)
    versions = {x["learner_id"]: x["course_version"] for x in listed.json()["items"]}
    assert versions[learners[0]["learner_id"]] == 1  # withdrawn: left where it was
    assert sorted(versions.values()) == [1, 2, 2, 2, 2]
    moves = await eventually(
        lambda: events_of(jetstream, c.CourseVersionChanged.event_type),
        lambda found: len(found) == 9,
    )
    assert sum(e.data.course_version == 2 for e in moves) == 4
    unknown = await enrollment.client.post(
        f"/v1/courses/{course_id}/version-moves", json={"version": 5}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "version"


async def test_a_move_racing_a_post_test_pass_never_certifies_unmet_rules(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    """Either the pass lands first (completed on version 1, whose rules were met, and the
    move is refused) or the move does (version 2, no certificate until its new lesson)."""
    course_id = await two_versions(jetstream, enrollment)
    admin = enrollment.auth("admin")
    racers = []
    for i in range(3):
        learner = await enrolled_on_version_1(jetstream, enrollment, course_id, f"Aparatur {i}")
        url = f"/v1/courses/{course_id}/learners/{learner['learner_id']}/version"
        assert (await enrollment.client.put(url, json={"version": 1}, headers=admin)).is_success
        for lesson_id in V1_LESSONS:
            await publish(jetstream, lesson(learner, lesson_id, 1))
        racers.append((learner, url))
    for learner, _ in racers:
        await eventually(
            lambda learner=learner: enrollment.client.get(
                f"/v1/enrollments/{learner['enrollment_id']}", headers=admin
            ),
            lambda r: r.json()["lessons_completed"] == 3,
        )

    async def race(learner: dict, url: str) -> int:
        passed = c.Passed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=c.AssessmentKind.POST_TEST,
            learner_id=uuid.UUID(learner["learner_id"]),
            course_id=course_id,
            village_code=TOWUA,
            score=95,
            pass_score=70,
            attempt_number=1,
            graded_at=datetime.now(UTC),
        )
        _, moved = await asyncio.gather(
            publish(jetstream, passed),
            enrollment.client.put(url, json={"version": 2}, headers=admin),
        )
        return moved.status_code

    statuses = await asyncio.gather(*(race(learner, url) for learner, url in racers))
    for (learner, _), status in zip(racers, statuses, strict=True):
        settled = await eventually(
            lambda learner=learner: enrollment.client.get(
                f"/v1/enrollments/{learner['enrollment_id']}", headers=admin
            ),
            lambda r: r.json()["post_test_score"] == 95,
        )
        shown = settled.json()
        if status == 409:
            assert (shown["status"], shown["course_version"]) == ("completed", 1)
            assert shown["certificate"] is not None
        else:
            assert status == 200
            assert (shown["status"], shown["course_version"]) == ("in_progress", 2)
            assert shown["certificate"] is None
            assert shown["completion"]["missing_lessons"] == 1
