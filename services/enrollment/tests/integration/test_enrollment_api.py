"""Enrollment over HTTP on real PostgreSQL and NATS, with events observed on JetStream."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
TOWUA = "74.01.01.2006"


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


async def publish(js: JetStreamContext, data: c.EventData) -> c.CloudEvent:
    event = c.new_event(data)
    await js.publish(c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    return event


async def published_course(
    js: JetStreamContext, service: RunningService, lessons: int = 2
) -> c.CoursePublished:
    lesson_ids = [uuid.uuid4() for _ in range(lessons)]
    course = c.CoursePublished(
        course_id=uuid.uuid4(),
        course_version=1,
        code="KEU-01",
        title="Tata Kelola Keuangan Desa",
        lesson_ids=lesson_ids,
        required_lesson_ids=lesson_ids,
        published_at=datetime.now(UTC),
    )
    await publish(js, course)
    admin = service.auth("admin")
    await eventually(
        lambda: service.client.get("/v1/catalog", headers=admin),
        lambda r: any(x["course_id"] == str(course.course_id) for x in r.json()),
    )
    return course


async def events_of(js: JetStreamContext, event_type: str) -> list[c.CloudEvent]:
    info = await js.stream_info("LMS")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        event = c.parse_event((await js.get_msg("LMS", seq)).data)
        if event.type == event_type:
            found.append(event)
    return found


async def register(service: RunningService, **changes: object) -> dict:
    body = {
        "full_name": "Wa Ode Sitti",
        "position": "sekretaris_desa",
        "village_code": TOWUA,
        "phone": "0812-3456-7890",
        "email": "sitti@example.id",
    } | changes
    response = await service.client.post("/v1/learners", json=body, headers=service.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def test_registering_a_learner_normalises_the_phone_and_emits_events_without_contact(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    learner = await register(enrollment)
    assert learner["phone"] == "+6281234567890"
    registered = await eventually(
        lambda: events_of(jetstream, "lms.enrollment.learner-registered.v1"),
        lambda found: len(found) == 1,
    )
    assert registered[0].data.learner_id == uuid.UUID(learner["learner_id"])
    assert "phone" not in registered[0].data.model_dump()
    contact = await eventually(
        lambda: events_of(jetstream, "lms.enrollment.learner-contact-changed.v1"),
        lambda found: len(found) == 1,
    )
    assert contact[0].data.phone == "+6281234567890"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("village_code", "74.01.01.2001"),
        ("village_code", "abc"),
        ("phone", "12"),
        ("email", "not-an-email"),
        ("position", "camat"),
    ],
)
async def test_bad_input_gets_a_problem_naming_the_field(
    enrollment: RunningService, field: str, value: str
) -> None:
    body = {"full_name": "Wa Ode", "position": "kepala_desa", "village_code": TOWUA, field: value}
    response = await enrollment.client.post(
        "/v1/learners", json=body, headers=enrollment.auth("admin")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert response.headers["content-language"] == "id"
    assert response.json()["detail"] == f"Permintaan tidak valid: periksa {field}."
    english = await enrollment.client.post(
        "/v1/learners", json=body, headers={**enrollment.auth("admin"), "Accept-Language": "en"}
    )
    assert english.json()["code"] == "validation_failed"
    assert english.json()["detail"] == f"Invalid request: check {field}."
    assert english.json()["errors"][0]["message"] != response.json()["errors"][0]["message"]


async def test_a_learner_is_shown_with_the_official_title_of_their_position(
    enrollment: RunningService,
) -> None:
    body = {"full_name": "Wa Ode", "position": "kaur_keuangan", "village_code": TOWUA}
    created = await enrollment.client.post(
        "/v1/learners", json=body, headers=enrollment.auth("admin")
    )
    assert created.status_code == 201, created.text
    assert created.json()["position"] == "kaur_keuangan"
    assert created.json()["position_name"] == "Kepala Urusan Keuangan"
    unknown = await enrollment.client.post(
        "/v1/learners",
        json={**body, "village_code": "74.01.01.2001"},
        headers={**enrollment.auth("admin"), "Accept-Language": "en-US,en;q=0.9"},
    )
    assert unknown.json()["errors"][0]["message"] == "No village has code 74.01.01.2001."


async def test_requests_without_a_valid_token_are_refused(enrollment: RunningService) -> None:
    assert (await enrollment.client.get("/v1/learners")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await enrollment.client.get("/v1/learners", headers=bad)).status_code == 401
    assert (await enrollment.client.get("/healthz")).status_code == 200


async def test_supervisor_sees_only_learners_of_their_region(enrollment: RunningService) -> None:
    learner = await register(enrollment)
    jabar = enrollment.auth("supervisor", region_code="32")
    sultra = enrollment.auth("supervisor", region_code="74")
    assert (
        await enrollment.client.get(f"/v1/learners/{learner['learner_id']}", headers=jabar)
    ).status_code == 404
    own = await enrollment.client.get(f"/v1/learners/{learner['learner_id']}", headers=sultra)
    assert own.status_code == 200 and own.json()["phone"] is None
    listed = await enrollment.client.get("/v1/learners", headers=jabar)
    assert listed.json()["items"] == []


async def test_concurrent_enrollments_yield_one_enrollment_and_a_conflict(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course = await published_course(jetstream, enrollment)
    learner = await register(enrollment)
    body = {"learner_id": learner["learner_id"], "course_id": str(course.course_id)}
    responses = await asyncio.gather(
        *(
            enrollment.client.post("/v1/enrollments", json=body, headers=enrollment.auth("admin"))
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    created = next(r.json() for r in responses if r.status_code == 201)
    conflict = next(r.json() for r in responses if r.status_code == 409)
    assert conflict["enrollment_id"] == created["enrollment_id"]


async def test_same_idempotency_key_returns_the_same_enrollment(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course = await published_course(jetstream, enrollment)
    learner = await register(enrollment)
    body = {"learner_id": learner["learner_id"], "course_id": str(course.course_id)}
    headers = enrollment.auth("admin") | {"Idempotency-Key": "enroll-1"}
    first, second = await asyncio.gather(
        *(enrollment.client.post("/v1/enrollments", json=body, headers=headers) for _ in range(2))
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    enrolled = await eventually(
        lambda: events_of(jetstream, "lms.enrollment.enrolled.v1"), lambda found: len(found) >= 1
    )
    assert len(enrolled) == 1


async def test_lessons_and_post_test_in_any_order_complete_once_with_a_certificate(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course = await published_course(jetstream, enrollment)
    learner = await register(enrollment)
    learner_id = uuid.UUID(learner["learner_id"])
    response = await enrollment.client.post(
        "/v1/enrollments",
        json={"learner_id": str(learner_id), "course_id": str(course.course_id)},
        headers=enrollment.auth("admin"),
    )
    enrollment_id = response.json()["enrollment_id"]
    now = datetime.now(UTC)
    passed = c.Passed(
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind=c.AssessmentKind.POST_TEST,
        learner_id=learner_id,
        course_id=course.course_id,
        village_code=TOWUA,
        score=85,
        pass_score=70,
        attempt_number=1,
        graded_at=now,
    )
    lessons = [
        c.LessonCompleted(
            learner_id=learner_id,
            course_id=course.course_id,
            course_version=1,
            lesson_id=lesson,
            village_code=TOWUA,
            completed_at=now,
            recorded_at=now,
        )
        for lesson in course.lesson_ids
    ]
    await publish(jetstream, passed)  # the post-test result arrives before the lessons
    for lesson in [*lessons, lessons[0]]:  # and one lesson twice
        await publish(jetstream, lesson)
    learner_auth = enrollment.auth("learner", learner_id=learner_id)
    done = await eventually(
        lambda: enrollment.client.get(f"/v1/enrollments/{enrollment_id}", headers=learner_auth),
        lambda r: r.json()["status"] == "completed",
    )
    assert done.json()["post_test_score"] == 85
    issued = await eventually(
        lambda: events_of(jetstream, "lms.enrollment.certificate-issued.v1"),
        lambda found: len(found) == 1,
    )
    assert len(await events_of(jetstream, "lms.enrollment.course-completed.v1")) == 1
    code = issued[0].data.verification_code
    public = await enrollment.client.get(f"/v1/certificates/{code}")
    assert public.status_code == 200
    shown = {k: public.json()[k] for k in ("verification_code", "full_name", "course_title")}
    assert shown == {
        "verification_code": code,
        "full_name": "Wa Ode Sitti",
        "course_title": "Tata Kelola Keuangan Desa",
    }
    assert (public.json()["score"], public.json()["valid"]) == (85.0, True)
    pdf = await enrollment.client.get(f"/v1/certificates/{code}/pdf", headers=learner_auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    stranger = enrollment.auth("learner", learner_id=uuid.uuid4())
    assert (
        await enrollment.client.get(f"/v1/certificates/{code}/pdf", headers=stranger)
    ).status_code == 404


async def test_cohorts_take_enrollments_only_within_their_window(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    from datetime import timedelta

    course = await published_course(jetstream, enrollment)
    learner = await register(enrollment)
    instructor = enrollment.auth("instructor")
    now = datetime.now(UTC)
    for name, opens, closes in (
        ("Angkatan 1", now - timedelta(days=60), now - timedelta(days=30)),
        ("Angkatan 2", now - timedelta(days=1), now + timedelta(days=30)),
    ):
        created = await enrollment.client.post(
            "/v1/cohorts",
            headers=instructor,
            json={
                "course_id": str(course.course_id),
                "name": name,
                "enrollment_opens_at": opens.isoformat(),
                "enrollment_closes_at": closes.isoformat(),
            },
        )
        assert created.status_code == 201, created.text
    again = await enrollment.client.post(
        "/v1/cohorts",
        headers=instructor,
        json={"course_id": str(course.course_id), "name": "Angkatan 2"},
    )
    assert again.status_code == 409
    backwards = await enrollment.client.post(
        "/v1/cohorts",
        headers=instructor,
        json={
            "course_id": str(course.course_id),
            "name": "X",
            "enrollment_opens_at": now.isoformat(),
            "enrollment_closes_at": (now - timedelta(days=1)).isoformat(),
        },
    )
    assert [e["field"] for e in backwards.json()["errors"]] == ["enrollment_closes_at"]
    body = {"learner_id": learner["learner_id"], "course_id": str(course.course_id)}
    admin = enrollment.auth("admin")
    closed = await enrollment.client.post(
        "/v1/enrollments", headers=admin, json=body | {"cohort": "Angkatan 1"}
    )
    assert closed.status_code == 409 and closed.json()["code"] == "enrollment_window_closed"
    unknown = await enrollment.client.post(
        "/v1/enrollments", headers=admin, json=body | {"cohort": "Angkatan 7"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "cohort"
    opened = await enrollment.client.post(
        "/v1/enrollments", headers=admin, json=body | {"cohort": "Angkatan 2"}
    )
    assert opened.status_code == 201 and opened.json()["cohort"] == "Angkatan 2"
    listed = await enrollment.client.get(f"/v1/cohorts?course_id={course.course_id}", headers=admin)
    assert [c["name"] for c in listed.json()] == ["Angkatan 1", "Angkatan 2"]
