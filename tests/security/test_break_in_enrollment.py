"""An attacker's requests to enrollment, each refused with nothing changed: no row written, no
event on the stream, no dead letter (docs/security.md lists the threats)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import BENTENG_UTARA, TOWUA, problem, signed, state

pytestmark = pytest.mark.integration
NIK = "7401011708450001"


async def register(service: RunningService, village_code: str, **more: object) -> dict:
    body = {
        "full_name": "Wa Ode Sitti",
        "position": "sekretaris_desa",
        "village_code": village_code,
    }
    response = await service.client.post(
        "/v1/learners", json=body | more, headers=service.auth("admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": ["supervisor"], "region": ""},
        {"roles": ["supervisor"], "region": "7"},
        {"roles": ["supervisor"], "region": "%"},
        {"roles": ["supervisor"], "region": "7_"},
        {"roles": ["supervisor"], "region": ["74"]},
        {"roles": 5},
        {"roles": {"admin": 1}},
        {"roles": ["learner"], "learner_id": "not-a-uuid"},
    ],
    ids=[
        "empty-region",
        "7",
        "percent",
        "underscore",
        "region-list",
        "roles-5",
        "roles-dict",
        "bad-id",
    ],
)
async def test_tokens_with_malformed_claims_read_nothing(
    enrollment: RunningService, claims: dict
) -> None:
    await register(enrollment, BENTENG_UTARA)
    for path in ("/v1/learners", "/v1/enrollments"):
        refused = await enrollment.client.get(path, headers=signed(**claims))
        assert problem(refused, 401)["code"] == "invalid_token"


async def test_a_supervisor_sees_only_its_own_region_however_it_asks(
    enrollment: RunningService,
) -> None:
    ours, theirs = await register(enrollment, TOWUA), await register(enrollment, BENTENG_UTARA)
    supervisor = enrollment.auth("supervisor", region_code="74")
    listed = await enrollment.client.get("/v1/learners", headers=supervisor)
    assert [x["learner_id"] for x in listed.json()["items"]] == [ours["learner_id"]]
    for region in ("7", "%", "7_", "74%"):
        asked = await enrollment.client.get(
            "/v1/learners", params={"region_code": region}, headers=supervisor
        )
        problem(asked, 422, "region_code")
    outside = await enrollment.client.get(
        "/v1/learners", params={"region_code": "73"}, headers=supervisor
    )
    assert problem(outside, 403)["code"] == "outside_region"
    hidden = await enrollment.client.get(f"/v1/learners/{theirs['learner_id']}", headers=supervisor)
    problem(hidden, 404)


async def test_a_nik_conflict_outside_the_region_names_nobody_and_writes_nothing(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    theirs = await register(enrollment, BENTENG_UTARA, nik=NIK)
    before = await state(enrollment, jetstream, "learners")
    supervisor = enrollment.auth("supervisor", region_code="74")
    body = {"full_name": "La Ode", "position": "kepala_desa", "village_code": TOWUA, "nik": NIK}
    refused = await enrollment.client.post("/v1/learners", json=body, headers=supervisor)
    answer = problem(refused, 409)
    assert answer["code"] == "learner_exists" and "learner_id" not in answer
    assert theirs["learner_id"] not in refused.text
    assert await state(enrollment, jetstream, "learners") == before
    admin = await enrollment.client.post(
        "/v1/learners", json=body, headers=enrollment.auth("admin")
    )
    assert problem(admin, 409)["learner_id"] == theirs["learner_id"]  # within the admin's scope


async def test_a_supervisor_cannot_overwrite_contact_it_cannot_read(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    learner = await register(enrollment, TOWUA, phone="081234567890", email="sitti@example.id")
    before = await state(enrollment, jetstream, "learners")
    supervisor = enrollment.auth("supervisor", region_code="74")
    refused = await enrollment.client.patch(
        f"/v1/learners/{learner['learner_id']}",
        json={"phone": "081300000000", "email": "attacker@example.id"},
        headers=supervisor,
    )
    assert problem(refused, 403, "phone")["code"] == "forbidden_field"
    assert await state(enrollment, jetstream, "learners") == before
    kept = await enrollment.client.get(
        f"/v1/learners/{learner['learner_id']}", headers=enrollment.auth("admin")
    )
    assert (kept.json()["phone"], kept.json()["email"]) == ("+6281234567890", "sitti@example.id")


async def enrolled_learner(
    enrollment: RunningService, js: JetStreamContext
) -> tuple[dict, dict[str, str], dict]:
    lesson = uuid.uuid4()
    course = c.CoursePublished(
        course_id=uuid.uuid4(),
        course_version=1,
        code="KEU-01",
        title="Tata Kelola Keuangan Desa",
        lesson_ids=[lesson],
        required_lesson_ids=[lesson],
        published_at=datetime.now(UTC),
    )
    event = c.new_event(course)
    await js.publish(c.subject_of(course), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    admin = enrollment.auth("admin")
    await eventually(
        lambda: enrollment.client.get("/v1/catalog", headers=admin),
        lambda r: any(x["course_id"] == str(course.course_id) for x in r.json()),
    )
    learner = await register(enrollment, TOWUA)
    me = enrollment.auth("learner", learner_id=uuid.UUID(learner["learner_id"]))
    body = {"learner_id": learner["learner_id"], "course_id": str(course.course_id)}
    enrolled = await enrollment.client.post("/v1/enrollments", json=body, headers=me)
    assert enrolled.status_code == 201, enrolled.text
    return learner, me, enrolled.json()


async def test_control_characters_are_refused_where_they_enter(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    _, me, enrolled = await enrolled_learner(enrollment, jetstream)
    before = await state(enrollment, jetstream, "learners", "enrollments", "cohorts")
    url = f"/v1/enrollments/{enrolled['enrollment_id']}"
    problem(
        await enrollment.client.delete(url, params={"reason": "a\x00b"}, headers=me), 422, "reason"
    )
    admin = enrollment.auth("admin")
    for name in ("Wa\x00Ode", "Wa\x1bOde", "Wa\nOde"):
        body = {"full_name": name, "position": "kepala_desa", "village_code": TOWUA}
        problem(
            await enrollment.client.post("/v1/learners", json=body, headers=admin), 422, "full_name"
        )
    cohort = {"course_id": enrolled["course_id"], "name": "Angkatan\x001"}
    problem(await enrollment.client.post("/v1/cohorts", json=cohort, headers=admin), 422, "name")
    problem(await enrollment.client.get("/v1/certificates/%00"), 422, "code")
    assert await state(enrollment, jetstream, "learners", "enrollments", "cohorts") == before
    still = await enrollment.client.get(url, headers=me)
    assert still.json()["status"] == "enrolled"


async def test_tampered_cursors_and_odd_correlation_ids_are_answered_not_crashed(
    enrollment: RunningService,
) -> None:
    for village in (TOWUA, "74.01.01.1001", "74.01.01.1002"):
        await register(enrollment, village)
    admin = enrollment.auth("admin")
    first = await enrollment.client.get("/v1/learners", params={"limit": 1}, headers=admin)
    cursor = first.json()["next_cursor"]
    payload, _, mac = cursor.partition(".")
    forged = f"{payload[:-2]}AA.{mac}"
    for bad, status in ((forged, 400), ("%00", 422), ("x" * 5000, 422)):
        asked = await enrollment.client.get("/v1/learners", params={"cursor": bad}, headers=admin)
        problem(asked, status, "cursor")
    taken = await enrollment.client.get(
        "/v1/enrollments", params={"cursor": cursor}, headers=admin
    )  # a cursor of another listing
    problem(taken, 400, "cursor")
    odd = await enrollment.client.get(
        "/v1/learners", headers=admin | {"X-Correlation-Id": b"\xff\xfe\x01"}
    )
    assert odd.status_code == 200
    uuid.UUID(odd.headers["x-correlation-id"])
