"""Coaching on real PostgreSQL and NATS: the inactive list with course, progress, village and
contact; contacts only inside the reader's region, every read in the admins' access log."""

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext
from openpyxl import load_workbook

import lms_contracts as c
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=10)
TOWUA, LAMBUYA = "74.01.01.2006", "74.02.01.1001"  # Kolaka and Konawe, Sulawesi Tenggara
COURSE, LESSONS = uuid.uuid4(), [uuid.uuid4() for _ in range(4)]


@pytest.fixture
async def reporting(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("reporting", database_url, nats_url) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


def official(name: str, village: str, at: datetime) -> list[c.EventData]:
    """Registered, enrolled and one lesson of four done at ``at``; phone and e-mail."""
    learner = uuid.uuid4()
    return [
        c.LearnerRegistered(
            learner_id=learner,
            full_name=name,
            position="sekretaris_desa",
            village_code=village,
            registered_at=at,
        ),
        c.LearnerContactChanged(
            learner_id=learner,
            full_name=name,
            village_code=village,
            phone="+6281234567890",
            email=f"{learner.hex[:6]}@desa.id",
            changed_at=at,
        ),
        c.Enrolled(
            enrollment_id=uuid.uuid4(),
            learner_id=learner,
            course_id=COURSE,
            course_version=1,
            course_title="Tata Kelola Keuangan Desa",
            village_code=village,
            position="sekretaris_desa",
            enrolled_at=at,
        ),
        c.LessonCompleted(
            learner_id=learner,
            course_id=COURSE,
            course_version=1,
            lesson_id=LESSONS[0],
            village_code=village,
            completed_at=at,
            recorded_at=at,
        ),
    ]


async def story(js: JetStreamContext, *learners: list[c.EventData]) -> None:
    published = c.CoursePublished(
        course_id=COURSE,
        course_version=1,
        code="KD",
        title="Tata Kelola Keuangan Desa",
        lesson_ids=LESSONS,
        required_lesson_ids=LESSONS,
        published_at=LONG_AGO,
    )
    for data in [published, *(d for events in learners for d in events)]:
        event = c.new_event(data)
        await js.publish(
            c.subject_of(data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)}
        )
    await settled(js)


async def settled(js: JetStreamContext) -> None:
    """Reporting's consumer has applied everything on the stream."""

    async def pending() -> int:
        info = await js.consumer_info("LMS", "reporting")
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    await eventually(pending, lambda n: n == 0)


async def get(service: RunningService, path: str, headers: dict[str, str]) -> Any:
    return await service.client.get(path, headers=headers)


async def access_log(service: RunningService, query: str = "") -> list[dict[str, Any]]:
    response = await get(service, f"/v1/reports/contact-access{query}", service.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_inactive_list_carries_course_progress_village_and_logged_contacts(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    quiet = official("Wa Ode Diam", TOWUA, LONG_AGO)
    busy = official("Rajin", TOWUA, NOW)
    elsewhere = official("Jauh", LAMBUYA, LONG_AGO)
    await story(jetstream, quiet, busy, elsewhere)
    kolaka = reporting.token("supervisor", region_code="74.01", subject="pembina-kolaka")
    headers = {"Authorization": f"Bearer {kolaka}"}

    listed = await get(reporting, "/v1/reports/inactive?region_code=74.01&days=7", headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    learner = quiet[0].learner_id
    assert item["learner_id"] == str(learner) and item["full_name"] == "Wa Ode Diam"
    assert item["village_name"] == "Towua" and item["course_title"] == "Tata Kelola Keuangan Desa"
    assert item["progress"] == 0.25 and item["lessons_done"] == 1 and item["lessons"] == 4
    assert item["days_inactive"] == 10
    assert item["phone"] == "+6281234567890" and item["email"].endswith("@desa.id")
    assert str(learner) not in listed.request.url.path  # nothing personal in the address

    [read] = await access_log(reporting)
    assert read["viewer"] == "pembina-kolaka" and read["learner_id"] == str(learner)
    assert read["route"] == "GET /v1/reports/inactive" and read["viewer_region"] == "74.01"

    contact = await get(reporting, f"/v1/reports/contacts/{learner}", headers)
    assert contact.status_code == 200 and contact.json()["phone"] == "+6281234567890"
    routes = [r["route"] for r in await access_log(reporting, f"?learner_id={learner}")]
    assert routes == ["GET /v1/reports/contacts/{learner_id}", "GET /v1/reports/inactive"]


async def test_contacts_outside_the_region_are_refused_unlogged_and_unrevealed(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    elsewhere = official("Jauh", LAMBUYA, LONG_AGO)
    await story(jetstream, elsewhere)
    kolaka = reporting.auth("supervisor", region_code="74.01")
    foreign = await get(reporting, "/v1/reports/inactive?region_code=74.02&days=7", kolaka)
    assert foreign.status_code == 403 and foreign.json()["code"] == "outside_region"
    theirs = await get(reporting, f"/v1/reports/contacts/{elsewhere[0].learner_id}", kolaka)
    unknown = await get(reporting, f"/v1/reports/contacts/{uuid.uuid4()}", kolaka)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"] == unknown.json()["detail"]
    admin = reporting.auth("admin")
    assert (await get(reporting, f"/v1/reports/contacts/{uuid.uuid4()}", admin)).status_code == 404
    learner = reporting.auth("learner", learner_id=elsewhere[0].learner_id)
    assert (await get(reporting, "/v1/reports/contact-access", learner)).status_code == 403
    assert (await get(reporting, "/v1/reports/contact-access", kolaka)).status_code == 403
    assert await access_log(reporting) == []


async def test_the_inactive_export_opens_as_xlsx_with_neutralised_cells_and_is_logged(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    formula = official('=HYPERLINK("http://evil")', TOWUA, LONG_AGO)
    await story(jetstream, formula, official("Wa Ode Diam", TOWUA, LONG_AGO))
    kolaka = reporting.auth("supervisor", region_code="74.01")
    exported = await get(
        reporting, "/v1/reports/inactive/export?region_code=74.01&days=7&format=xlsx", kolaka
    )
    assert exported.status_code == 200, exported.text
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(table) if row[0] == "No.")
    columns, rows = table[header], table[header + 1 :]
    assert {"Nama", "Jabatan", "Kode Desa", "Telepon"} <= set(columns)
    names = sorted(str(r[columns.index("Nama")]) for r in rows)
    assert names == ['\'=HYPERLINK("http://evil")', "Wa Ode Diam"]
    assert all(r[columns.index("Telepon")] == "+6281234567890" for r in rows)
    logged = await access_log(reporting)
    assert len(logged) == 2 and {r["route"] for r in logged} == {"GET /v1/reports/inactive/export"}


async def test_enrollments_reads_join_the_log_once_however_often_the_event_arrives(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    """learner-contacts-viewed: a row per learner shown, as reporting's own reads write them;
    the same event delivered again (in the same batch, a later one, or by a rebuild's replay)
    adds nothing."""
    from reporting.rebuild import rebuild

    shown = sorted([uuid.uuid4(), uuid.uuid4()])
    viewed = c.new_event(
        c.LearnerContactsViewed(
            viewer="admin-pusat",
            viewer_role="admin",
            route="GET /v1/learners",
            learner_ids=shown,
            viewed_at=NOW,
        )
    )

    async def deliver(*copies: str) -> None:
        for copy in copies:  # the stream keeps each copy: a message id of its own
            headers = {"Nats-Msg-Id": f"{viewed.id}-{copy}"}
            await jetstream.publish(c.subject_of(viewed.data), viewed.to_json(), headers=headers)
        await settled(jetstream)

    await deliver("sent", "sent-twice")
    await deliver("redelivered")
    log = await access_log(reporting)
    assert sorted(uuid.UUID(r["learner_id"]) for r in log) == shown
    assert {(r["viewer"], r["viewer_role"], r["viewer_region"], r["route"]) for r in log} == {
        ("admin-pusat", "admin", None, "GET /v1/learners")
    }
    assert {datetime.fromisoformat(r["read_at"]) for r in log} == {NOW}

    await rebuild(reporting.runtime.database.engine, jetstream)
    assert await access_log(reporting) == log
