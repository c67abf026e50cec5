"""Certificates over HTTP on real PostgreSQL and NATS: verified as a page or JSON, printed,
listed by their owner and their region's supervisors, and revoked once by an admin."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .test_enrollment_api import TOWUA, events_of, publish, published_course, register

pytestmark = pytest.mark.integration
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "enrollment", database_url, nats_url, public_base_url="https://lms.example.go.id"
    ) as service:
        yield service


async def certified(js: JetStreamContext, service: RunningService) -> tuple[str, uuid.UUID]:
    """A learner of Towua who completed a course: their certificate's code and their id."""
    course = await published_course(js, service, lessons=1)
    learner = await register(service, nik="7401010101800001")
    learner_id = uuid.UUID(learner["learner_id"])
    admin = service.auth("admin")
    body = {"learner_id": str(learner_id), "course_id": str(course.course_id)}
    assert (await service.client.post("/v1/enrollments", json=body, headers=admin)).is_success
    now = datetime.now(UTC)
    await publish(
        js,
        c.LessonCompleted(
            learner_id=learner_id,
            course_id=course.course_id,
            course_version=1,
            lesson_id=course.lesson_ids[0],
            village_code=TOWUA,
            completed_at=now,
            recorded_at=now,
        ),
    )
    await publish(
        js,
        c.Passed(
            attempt_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            assessment_kind=c.AssessmentKind.POST_TEST,
            learner_id=learner_id,
            course_id=course.course_id,
            village_code=TOWUA,
            score=90,
            pass_score=70,
            attempt_number=1,
            graded_at=now,
        ),
    )
    issued = await eventually(
        lambda: events_of(js, c.CertificateIssued.event_type), lambda found: len(found) == 1
    )
    return issued[0].data.verification_code, learner_id


async def test_verification_answers_a_page_to_browsers_and_json_to_clients_and_hides_contacts(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    code, _ = await certified(jetstream, enrollment)
    page = await enrollment.client.get(f"/v1/certificates/{code.lower()}", headers=BROWSER)
    assert page.headers["content-type"].startswith("text/html")
    assert "SERTIFIKAT SAH" in page.text and "Wa Ode Sitti" in page.text
    assert "Desa Towua, Kecamatan" in page.text and "Sekretaris Desa" in page.text
    found = await enrollment.client.get(f"/v1/certificates/{code}")
    assert found.headers["content-type"] == "application/json"
    body = found.json()
    assert (body["status"], body["valid"], body["full_name"]) == ("sah", True, "Wa Ode Sitti")
    assert body["verify_url"] == f"https://lms.example.go.id/v1/certificates/{code}"
    assert body["certificate_number"].startswith(f"LMS-PD/{datetime.now(UTC).year}/")
    for shown in (page.text, found.text):
        assert "+6281234567890" not in shown and "sitti@example.id" not in shown
        assert "7401010101800001" not in shown
    unknown = await enrollment.client.get("/v1/certificates/TIDAKADA", headers=BROWSER)
    assert unknown.status_code == 404


async def test_an_admin_revokes_once_and_verification_says_so(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    code, learner_id = await certified(jetstream, enrollment)
    url = f"/v1/certificates/{code}/revoke"
    body = {"reason": "Peserta tidak mengikuti ujian sendiri"}
    learner = enrollment.auth("learner", learner_id=learner_id)
    assert (await enrollment.client.post(url, json=body, headers=learner)).status_code == 403
    short = await enrollment.client.post(
        url, json={"reason": "x"}, headers=enrollment.auth("admin")
    )
    assert (short.status_code, short.json()["errors"][0]["field"]) == (422, "reason")
    revoked = await enrollment.client.post(url, json=body, headers=enrollment.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["valid"]) == ("dicabut", False)
    again = await enrollment.client.post(url, json=body, headers=enrollment.auth("admin"))
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["errors"][0]["field"]) == (
        "certificate_revoked",
        "code",
    )
    nobody = await enrollment.client.post(
        "/v1/certificates/TIDAKADA/revoke", json=body, headers=enrollment.auth("admin")
    )
    assert (nobody.status_code, nobody.json()["errors"][0]["field"]) == (404, "code")
    page = await enrollment.client.get(f"/v1/certificates/{code}", headers=BROWSER)
    assert "SERTIFIKAT DICABUT" in page.text and "tidak berlaku lagi" in page.text
    events = await eventually(
        lambda: events_of(jetstream, c.CertificateRevoked.event_type), lambda f: len(f) == 1
    )
    assert (events[0].data.reason, events[0].data.verification_code) == (body["reason"], code)
    own = await enrollment.client.get(f"/v1/enrollments?learner_id={learner_id}", headers=learner)
    assert own.json()["items"][0]["certificate"]["valid"] is False


async def test_learners_list_their_certificates_and_supervisors_their_regions(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    code, learner_id = await certified(jetstream, enrollment)
    lists = {
        "own": enrollment.auth("learner", learner_id=learner_id),
        "other learner": enrollment.auth("learner", learner_id=uuid.uuid4()),
        "kolaka": enrollment.auth("supervisor", region_code="74.01"),
        "jawa barat": enrollment.auth("supervisor", region_code="32"),
        "admin": enrollment.auth("admin"),
    }
    seen = {
        who: [
            x["verification_code"]
            for x in (await enrollment.client.get("/v1/certificates", headers=h)).json()["items"]
        ]
        for who, h in lists.items()
    }
    assert seen == {
        "own": [code],
        "other learner": [],
        "kolaka": [code],
        "jawa barat": [],
        "admin": [code],
    }
    pdf = await enrollment.client.get(f"/v1/certificates/{code}/pdf", headers=lists["kolaka"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    refused = await enrollment.client.get(
        f"/v1/certificates/{code}/pdf", headers=lists["jawa barat"]
    )
    assert refused.status_code == 404
