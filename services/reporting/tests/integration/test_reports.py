"""Reporting on real PostgreSQL and NATS: exact counts from duplicated, shuffled events."""

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
VILLAGES = ["74.01.01.2006", "74.01.01.2007", "74.02.01.2006", "32.01.01.1001"]


@pytest.fixture
async def reporting(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("reporting", database_url, nats_url) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


def learner_story(index: int, course: uuid.UUID, lessons: list[uuid.UUID]) -> list[c.EventData]:
    """Registered, enrolled, some lessons, tests; every second learner completes."""
    learner, village = uuid.uuid4(), VILLAGES[index % len(VILLAGES)]
    enrollment = uuid.uuid4()
    events: list[c.EventData] = [
        c.LearnerRegistered(
            learner_id=learner,
            full_name=f"A{index}",
            position="kepala_desa",
            village_code=village,
            registered_at=NOW,
        ),
        c.Enrolled(
            enrollment_id=enrollment,
            learner_id=learner,
            course_id=course,
            course_version=1,
            course_title="Keuangan",
            village_code=village,
            position="kepala_desa",
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
    ]
    events += [
        c.LessonCompleted(
            learner_id=learner,
            course_id=course,
            course_version=1,
            lesson_id=lesson,
            village_code=village,
            completed_at=NOW,
            recorded_at=NOW,
        )
        for lesson in lessons
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
                verification_code=f"C{index}",
                enrollment_id=enrollment,
                learner_id=learner,
                course_id=course,
                course_title="Keuangan",
                village_code=village,
                score=90,
                issued_at=NOW,
            ),
        ]
    return events


async def settled(js: JetStreamContext) -> None:
    """Wait until the reporting consumer has applied and acknowledged everything published."""

    async def pending() -> int:
        info = await js.consumer_info("LMS", "reporting")
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    await eventually(pending, lambda n: n == 0)


async def publish_all(js: JetStreamContext, events: list[c.CloudEvent]) -> None:
    for event in events:
        await js.publish(
            c.subject_of(event.data), event.to_json(), headers={"Nats-Msg-Id": str(event.id)}
        )


async def test_duplicated_and_shuffled_events_give_exact_counts_that_sum_across_levels(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course, lessons = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    envelopes = [c.new_event(data) for i in range(12) for data in learner_story(i, course, lessons)]
    shuffled = envelopes + random.Random(7).sample(envelopes, 20)  # duplicates under new msg ids
    contact = c.LearnerContactChanged(  # kept apart: counts nothing
        learner_id=uuid.uuid4(), full_name="A0", village_code=VILLAGES[0], changed_at=NOW
    )
    shuffled.append(c.new_event(contact))
    random.Random(3).shuffle(shuffled)
    for event in shuffled:
        await jetstream.publish(
            c.subject_of(event.data),
            event.to_json(),
            headers={"Nats-Msg-Id": f"{event.id}-{random.random()}"},
        )
    admin = reporting.auth("admin")
    await settled(jetstream)
    national = await reporting.client.get("/v1/reports/national", headers=admin)
    totals = national.json()["totals"]
    assert {
        k: totals[k] for k in ("registered", "enrolled", "completed", "passed", "certified")
    } == {"registered": 12, "enrolled": 12, "completed": 6, "passed": 6, "certified": 6}
    assert (
        totals["avg_pre_test"] == 40
        and totals["avg_post_test"] == 90
        and totals["avg_improvement"] == 50
    )
    assert totals["active"] == 12
    sultra = (await reporting.client.get("/v1/reports/regions/74", headers=admin)).json()
    assert sultra["region"] == {"code": "74", "name": "Sulawesi Tenggara", "level": "province"}
    assert sultra["totals"]["registered"] == 9
    assert len(sultra["children"]) == 17  # every regency, with or without learners
    for key in ("registered", "enrolled", "completed", "certified"):
        assert sum(child["totals"][key] for child in sultra["children"]) == sultra["totals"][key]
    provinces = national.json()["children"]
    assert len(provinces) == 38
    assert sum(p["totals"]["registered"] for p in provinces) == 12
    kolaka = (await reporting.client.get("/v1/reports/regions/74.01.01", headers=admin)).json()
    towua = next(v for v in kolaka["children"] if v["region"]["code"] == "74.01.01.2006")
    assert towua["region"]["name"] == "Towua"
    assert towua["totals"]["registered"] == 3
    # Nation to village, with and without a course filter: children add up to their parent,
    # "active" included (buckets down to regencies, rows counted below).
    counted = ("registered", "enrolled", "completed", "certified", "active")
    for query in ("", f"?course_id={course}"):
        for code in ("national", "74", "74.01", "74.01.01"):
            path = "/v1/reports/national" if code == "national" else f"/v1/reports/regions/{code}"
            report = (await reporting.client.get(path + query, headers=admin)).json()
            for key in counted:
                children = sum(child["totals"][key] for child in report["children"])
                assert children == report["totals"][key], (code, query, key)
            if code in ("74.01", "74.01.01"):  # six learners in two villages of one district
                active = {
                    child["region"]["code"]: child["totals"]["active"]
                    for child in report["children"]
                    if child["totals"]["active"]
                }
                assert report["totals"]["active"] == 6, (code, query)
                assert active == (
                    {"74.01.01": 6} if code == "74.01" else {"74.01.01.2006": 3, "74.01.01.2007": 3}
                ), (code, query)
        village = (
            await reporting.client.get("/v1/reports/regions/74.01.01.2006" + query, headers=admin)
        ).json()
        assert village["totals"]["active"] == 3


async def test_filters_and_scopes_of_region_reports(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course, lessons = uuid.uuid4(), [uuid.uuid4()]
    events = [c.new_event(d) for i in range(4) for d in learner_story(i, course, lessons)]
    await publish_all(jetstream, events)
    admin = reporting.auth("admin")
    await settled(jetstream)
    other_course = await reporting.client.get(
        f"/v1/reports/regions/74?course_id={uuid.uuid4()}", headers=admin
    )
    assert other_course.json()["totals"]["enrolled"] == 0
    assert other_course.json()["totals"]["registered"] == 3  # registrations are course-independent
    by_position = await reporting.client.get(
        "/v1/reports/regions/74?position=sekretaris_desa", headers=admin
    )
    assert by_position.json()["totals"]["registered"] == 0
    jabar = reporting.auth("supervisor", region_code="32")
    assert (await reporting.client.get("/v1/reports/regions/74", headers=jabar)).status_code == 403
    assert (await reporting.client.get("/v1/reports/national", headers=jabar)).status_code == 403
    assert (
        await reporting.client.get("/v1/reports/regions/32.01", headers=jabar)
    ).status_code == 200
    assert (await reporting.client.get("/v1/reports/regions/74")).status_code == 401
    unknown = await reporting.client.get("/v1/reports/regions/74.99", headers=admin)
    assert unknown.status_code == 404
    bad = await reporting.client.get("/v1/reports/regions/7", headers=admin)
    assert bad.status_code == 422


async def test_inactive_learners_and_learner_report(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course = uuid.uuid4()
    quiet = c.LearnerRegistered(
        learner_id=uuid.uuid4(),
        full_name="Diam",
        position="kepala_dusun",
        village_code="74.01.01.2006",
        registered_at=NOW,
    )
    busy_story = learner_story(0, course, [uuid.uuid4()])
    await publish_all(jetstream, [c.new_event(quiet), *(c.new_event(d) for d in busy_story)])
    admin = reporting.auth("admin")
    await settled(jetstream)
    inactive = (
        await reporting.client.get("/v1/reports/inactive?region_code=74&days=7", headers=admin)
    ).json()
    assert [x["full_name"] for x in inactive["items"]] == ["Diam"]
    busy = busy_story[0].learner_id
    me = reporting.auth("learner", learner_id=busy)
    report = (await reporting.client.get(f"/v1/reports/learners/{busy}", headers=me)).json()
    assert report["enrollments"][0] | {"last_activity_at": None, "enrollment_id": None} == {
        "enrollment_id": None,
        "course_id": str(course),
        "course_title": "Keuangan",
        "course_version": 1,
        "cohort": "Angkatan 1",
        "status": "completed",
        "lessons_done": 1,
        "lessons": None,  # the version was not published here
        "progress": None,
        "pre_test_score": 40.0,
        "post_test_score": 90.0,
        "passed": True,
        "certified": True,
        "certificate": {
            "verification_code": "C0",
            "verify_url": "http://127.0.0.1:8001/v1/certificates/C0",
            "pdf_url": "http://127.0.0.1:8001/v1/certificates/C0/pdf",
        },
        "last_activity_at": None,
    }
    other = reporting.auth("learner", learner_id=uuid.uuid4())
    assert (
        await reporting.client.get(f"/v1/reports/learners/{busy}", headers=other)
    ).status_code == 404


async def test_exports_open_as_csv_and_xlsx_and_the_dashboard_loads_nothing_from_outside(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    import csv
    import io
    import re

    from openpyxl import load_workbook

    course = uuid.uuid4()
    await publish_all(
        jetstream,
        [c.new_event(d) for i in range(4) for d in learner_story(i, course, [uuid.uuid4()])],
    )
    admin = reporting.auth("admin")
    await settled(jetstream)
    exported = await reporting.client.get("/v1/reports/regions/74/export?format=csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["No.", "Kode Wilayah", "Nama Wilayah", "Tingkat", "Terdaftar"]
    assert rows[1][:5] == ["1", "74", "Sulawesi Tenggara", "Provinsi", "3"]
    assert len(rows) == 2 + 17
    workbook = await reporting.client.get(
        "/v1/reports/regions/74/export?format=xlsx", headers=admin
    )
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet["A6"].value == "No." and sheet["B6"].value == "Kode Wilayah"
    assert sheet["E7"].value == 3
    assert (
        await reporting.client.get("/v1/reports/regions/74/export?format=pdf", headers=admin)
    ).status_code == 422

    token = reporting.token("supervisor", region_code="74")
    in_link = await reporting.client.get(f"/dashboard/regions/74?token={token}")
    assert in_link.status_code == 303, "a token in a link signs nobody in"
    assert in_link.headers["location"].startswith("/dashboard/sign-in?next=")
    page = await reporting.client.get(
        "/dashboard/regions/74", headers={"Authorization": f"Bearer {token}"}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "Sulawesi Tenggara" in page.text
    assert 'href="/dashboard/regions/74.01?days=14"' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text), (
        "no resource from outside the service"
    )
    assert (
        await reporting.client.get(
            "/dashboard/regions/32", headers={"Authorization": f"Bearer {token}"}
        )
    ).status_code == 403


async def test_rebuild_by_replay_repairs_the_projections_to_the_live_numbers_and_carries_on(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    from sqlalchemy import text

    from reporting.rebuild import rebuild

    course, lessons = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    await publish_all(
        jetstream, [c.new_event(d) for i in range(10) for d in learner_story(i, course, lessons)]
    )
    await settled(jetstream)
    admin = reporting.auth("admin")
    paths = [
        "/v1/reports/national",
        "/v1/reports/regions/74",
        f"/v1/reports/regions/74.01.01?course_id={course}",
    ]
    live = [(await reporting.client.get(p, headers=admin)).json() for p in paths]
    async with reporting.runtime.database.transaction() as tx:  # a projection bug, say
        await tx.conn.execute(text("UPDATE rollups SET completed = completed + 100"))
        await tx.conn.execute(text("DELETE FROM activity"))
    assert (await reporting.client.get(paths[0], headers=admin)).json() != live[0]
    progress: list[tuple[int, int]] = []

    replayed = await rebuild(
        reporting.runtime.database.engine,
        jetstream,
        lambda done, total: progress.append((done, total)),
    )

    assert replayed == sum(len(learner_story(0, course, lessons)) for _ in range(5)) + sum(
        len(learner_story(1, course, lessons)) for _ in range(5)
    )
    assert progress[-1] == (replayed, replayed)
    rebuilt = [(await reporting.client.get(p, headers=admin)).json() for p in paths]
    assert rebuilt == live
    newcomer = c.LearnerRegistered(
        learner_id=uuid.uuid4(),
        full_name="Baru",
        position="kepala_desa",
        village_code="74.01.01.2006",
        registered_at=NOW,
    )
    await publish_all(jetstream, [c.new_event(newcomer)])
    await settled(jetstream)
    after = (await reporting.client.get("/v1/reports/national", headers=admin)).json()
    assert after["totals"]["registered"] == live[0]["totals"]["registered"] + 1
