"""Bulk enrollment jobs and CSV import on real PostgreSQL and NATS."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select, update

import lms_contracts as c
from enrollment import jobs
from enrollment.domain.model import BulkEnrollment
from enrollment.store.tables import enrollments, outbox
from enrollment.store.tables import jobs as jobs_table
from enrollment.store.unit_of_work import SqlUnitOfWork
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually
from servicekit.tracing import traceparent_for

pytestmark = pytest.mark.integration
VILLAGES = ["74.01.01.2006", "74.01.01.2007", "74.02.01.2006", "32.01.01.1001"]


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


async def a_course(js: JetStreamContext, service: RunningService) -> uuid.UUID:
    course = c.CoursePublished(
        course_id=uuid.uuid4(),
        course_version=1,
        code="K",
        title="Keuangan Desa",
        lesson_ids=[],
        required_lesson_ids=[],
        published_at=datetime.now(UTC),
    )
    event = c.new_event(course)
    await js.publish(c.subject_of(course), event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    await eventually(
        lambda: service.client.get("/v1/catalog", headers=service.auth("admin")),
        lambda r: len(r.json()) == 1,
    )
    return course.course_id


def learner_body(i: int) -> dict[str, str]:
    return {
        "full_name": f"Aparatur {i}",
        "village_code": VILLAGES[i % len(VILLAGES)],
        "position": "sekretaris_desa" if i % 3 == 0 else "kepala_desa",
    }


async def register_many(service: RunningService, count: int) -> None:
    for i in range(count):
        body = learner_body(i)
        response = await service.client.post(
            "/v1/learners", json=body, headers=service.auth("admin")
        )
        assert response.status_code == 201, response.text


async def enrolled_count(service: RunningService) -> tuple[int, int]:
    async with service.runtime.database.read() as conn:
        rows = (await conn.execute(select(func.count()).select_from(enrollments))).scalar_one()
        events = (
            await conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.event_type == "lms.enrollment.enrolled.v1")
            )
        ).scalar_one()
    return rows, events


async def test_bulk_job_enrolls_every_matching_learner_once_and_reports_progress(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await a_course(jetstream, enrollment)
    await register_many(enrollment, 24)
    admin = enrollment.auth("admin")
    # one of them is already enrolled by hand: the job must skip, not double, them
    some = (
        await enrollment.client.get(
            "/v1/learners?region_code=74&position=sekretaris_desa", headers=admin
        )
    ).json()
    await enrollment.client.post(
        "/v1/enrollments",
        headers=admin,
        json={"learner_id": some["items"][0]["learner_id"], "course_id": str(course_id)},
    )
    response = await enrollment.client.post(
        "/v1/enrollments/bulk",
        headers=admin,
        json={"course_id": str(course_id), "region_code": "74", "positions": ["sekretaris_desa"]},
    )
    assert response.status_code == 202
    job = response.json()
    expected = [
        i
        for i in range(24)
        if learner_body(i)["position"] == "sekretaris_desa"
        and learner_body(i)["village_code"].startswith("74.")
    ]
    assert job["total"] == len(expected) == 6
    done = await eventually(
        lambda: enrollment.client.get(f"/v1/jobs/{job['job_id']}", headers=admin),
        lambda r: r.json()["state"] == "completed",
    )
    assert (done.json()["done"], done.json()["skipped"]) == (5, 1)
    assert done.json()["counts"] == {"enrolled": 5, "already_enrolled": 1}
    assert await enrolled_count(enrollment) == (6, 6)
    rows = await enrollment.client.get(f"/v1/jobs/{job['job_id']}/rows.csv", headers=admin)
    outcomes = [line.split(",")[1] for line in rows.text.splitlines()[1:]]
    assert sorted(outcomes) == ["already_enrolled"] + ["enrolled"] * 5


async def test_a_bulk_job_interrupted_mid_way_resumes_without_enrolling_anyone_twice(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await a_course(jetstream, enrollment)
    await register_many(enrollment, 20)
    database, clock = enrollment.runtime.database, enrollment.runtime.clock
    bulk = BulkEnrollment(course_id, 1, "Keuangan Desa", "74", (), None)
    job_id = uuid.uuid4()
    async with database.transaction() as tx:
        await SqlUnitOfWork(tx, clock).add_bulk_job(job_id, bulk, 15, "test")
        # a worker claimed it (its lease still runs), enrolled one chunk, then its process died
        await tx.conn.execute(
            update(jobs_table)
            .where(jobs_table.c.job_id == job_id)
            .values(state="running", lease_until=func.now() + jobs.LEASE)
        )
    assert await jobs.run_chunk(database, job_id, clock, chunk=4) is False
    assert (await enrolled_count(enrollment))[0] == 4
    async with database.transaction() as tx:  # its lease expires
        await tx.conn.execute(
            update(jobs_table)
            .where(jobs_table.c.job_id == job_id)
            .values(lease_until=func.now() - jobs.LEASE)
        )
    admin = enrollment.auth("admin")
    done = await eventually(
        lambda: enrollment.client.get(f"/v1/jobs/{job_id}", headers=admin),
        lambda r: r.json()["state"] == "completed",
    )
    assert done.json()["done"] == 15
    assert await enrolled_count(enrollment) == (15, 15)


async def test_a_supervisor_bulk_enrolls_in_their_region_and_is_refused_outside_it(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await a_course(jetstream, enrollment)
    await register_many(enrollment, 8)
    kolaka = enrollment.auth("supervisor", region_code="74.01")
    body = {"course_id": str(course_id), "region_code": "74.02"}
    refused = await enrollment.client.post("/v1/enrollments/bulk", json=body, headers=kolaka)
    assert (refused.status_code, refused.json()["code"]) == (403, "outside_region")
    listed = await enrollment.client.get("/v1/jobs", headers=enrollment.auth("admin"))
    assert listed.json()["items"] == []
    accepted = await enrollment.client.post(
        "/v1/enrollments/bulk", json=body | {"region_code": "74.01"}, headers=kolaka
    )
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert accepted.headers["location"] == f"/v1/jobs/{job['job_id']}"
    done = await eventually(
        lambda: enrollment.client.get(f"/v1/jobs/{job['job_id']}", headers=kolaka),
        lambda r: r.json()["state"] == "completed",
    )
    in_kolaka = sum(learner_body(i)["village_code"].startswith("74.01.") for i in range(8))
    assert done.json()["counts"] == {"enrolled": in_kolaka}
    assert done.json()["progress"] == 1.0
    # a supervisor of another regency neither sees the job nor its rows
    konawe = enrollment.auth("supervisor", region_code="74.02")
    for path in (f"/v1/jobs/{job['job_id']}", f"/v1/jobs/{job['job_id']}/rows.csv"):
        assert (await enrollment.client.get(path, headers=konawe)).status_code == 404


async def test_bulk_jobs_need_a_published_course_and_a_region(enrollment: RunningService) -> None:
    body = {"course_id": str(uuid.uuid4()), "region_code": "74"}
    learner = enrollment.auth("learner", learner_id=uuid.uuid4())
    assert (
        await enrollment.client.post("/v1/enrollments/bulk", json=body, headers=learner)
    ).status_code == 403
    unknown = await enrollment.client.post(
        "/v1/enrollments/bulk", json=body, headers=enrollment.auth("admin")
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "course_id"
    bad_region = await enrollment.client.post(
        "/v1/enrollments/bulk", json=body | {"region_code": "7"}, headers=enrollment.auth("admin")
    )
    assert (
        bad_region.status_code == 422 and bad_region.json()["errors"][0]["field"] == "region_code"
    )


async def test_the_bulk_command_enrolls_a_region_with_a_progress_bar(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    from typer.testing import CliRunner

    from lms_cli.main import app

    course_id = await a_course(jetstream, enrollment)
    await register_many(enrollment, 8)
    env = {"DATABASE_URL": enrollment.settings.database_url}
    args = ["enrollment", "bulk", "--course-id", str(course_id), "--region", "74.01"]
    result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
    assert result.exit_code == 0, result.output
    in_kolaka = sum(learner_body(i)["village_code"].startswith("74.01.") for i in range(8))
    assert f"completed: {in_kolaka} enrolled, 0 already enrolled" in result.output
    again = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
    assert f"completed: 0 enrolled, {in_kolaka} already enrolled" in again.output
    assert await enrolled_count(enrollment) == (in_kolaka, in_kolaka)


async def test_bulk_events_match_contract(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    """The events bulk jobs write in SQL are the same contract events as the Python path's."""
    from sqlalchemy import select as sql_select

    from enrollment.domain import events
    from enrollment.domain.model import Enrollment, EnrollmentStatus, Learner, Position
    from enrollment.events.outbound import to_contract

    course_id = await a_course(jetstream, enrollment)
    await register_many(enrollment, 3)
    admin = enrollment.auth("admin")
    job = (
        await enrollment.client.post(
            "/v1/enrollments/bulk",
            headers=admin,
            json={"course_id": str(course_id), "region_code": "74.01"},
        )
    ).json()
    await eventually(
        lambda: enrollment.client.get(f"/v1/jobs/{job['job_id']}", headers=admin),
        lambda r: r.json()["state"] == "completed",
    )
    async with enrollment.runtime.database.read() as conn:
        row = (
            await conn.execute(
                sql_select(outbox.c.subject, outbox.c.payload).where(
                    outbox.c.event_type == "lms.enrollment.enrolled.v1"
                )
            )
        ).first()
    from_sql = c.parse_event(bytes(row.payload))
    data = from_sql.data
    assert isinstance(data, c.Enrolled)
    assert row.subject == c.subject_of(data)
    twin = to_contract(
        events.Enrolled(
            Enrollment(
                data.enrollment_id,
                data.learner_id,
                data.course_id,
                data.course_version,
                data.course_title,
                EnrollmentStatus.ENROLLED,
                data.enrolled_at,
                data.cohort,
            ),
            Learner(data.learner_id, "x", Position(data.position.value), data.village_code),
        )
    )[0]
    assert data == twin
    # the trace context too: that of an event written without a request, by the same rule
    python_event = c.new_event(
        twin,
        event_id=from_sql.id,
        time=from_sql.time,
        traceparent=traceparent_for(from_sql.id, str(from_sql.id)),
    )
    assert from_sql.model_dump(exclude={"correlationid"}) == python_event.model_dump(
        exclude={"correlationid"}
    )


@pytest.fixture
async def capped(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "enrollment", database_url, nats_url, bulk_max_learners=2
    ) as service:
        yield service


async def in_both_languages(
    service: RunningService, method: str, url: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same request answered in Indonesian (no Accept-Language) and in English."""
    headers = kwargs.pop("headers")
    indonesian = await service.client.request(method, url, headers=headers, **kwargs)
    english = await service.client.request(
        method, url, headers={**headers, "Accept-Language": "en-US,en;q=0.8"}, **kwargs
    )
    assert indonesian.headers["content-language"] == "id"
    assert english.headers["content-language"] == "en"
    return indonesian.json(), english.json()


async def test_refusals_with_values_and_bad_codes_read_in_indonesian_or_english(
    capped: RunningService, jetstream: JetStreamContext
) -> None:
    """A coordinator in Sulawesi Tenggara, with or without an English browser: the numbers,
    the cohort and the codes they typed appear in a sentence of their language; codes stay."""
    course_id = await a_course(jetstream, capped)
    await register_many(capped, 8)  # six in province 74
    admin = capped.auth("admin")
    bulk = {"course_id": str(course_id), "region_code": "74"}
    id_, en = await in_both_languages(
        capped, "POST", "/v1/enrollments/bulk", headers=admin, json=bulk
    )
    assert id_["code"] == en["code"] == "bulk_job_too_large"
    assert id_["errors"] == [
        {"field": "region_code", "message": "mencakup 6 peserta; paling banyak 2 per pekerjaan"}
    ]
    assert en["errors"] == [
        {"field": "region_code", "message": "matches 6 learners; at most 2 per job"}
    ]

    learner = (await capped.client.get("/v1/learners", headers=admin)).json()["items"][0]
    cohort = {"learner_id": learner["learner_id"], "course_id": str(course_id), "cohort": "Gel {2"}
    id_, en = await in_both_languages(capped, "POST", "/v1/enrollments", headers=admin, json=cohort)
    assert id_["code"] == en["code"] == "unknown_cohort"
    assert id_["errors"][0]["message"] == "pelatihan ini tidak memiliki angkatan bernama Gel {2"
    assert en["errors"][0]["message"] == "the course has no cohort named Gel {2"

    for region, indonesian, english in [
        ("7", "Harus kode wilayah, misalnya 74", "Must be a region code such as 74"),
        ("99", "Tidak ada wilayah dengan kode 99.", "No region has code 99."),
    ]:
        id_, en = await in_both_languages(
            capped, "GET", "/v1/learners", headers=admin, params={"region_code": region}
        )
        assert id_["code"] == en["code"] == "validation_failed"
        assert [e["field"] for e in id_["errors"]] == ["region_code"]
        assert id_["errors"][0]["message"].startswith(indonesian)
        assert en["errors"][0]["message"].startswith(english)
    poisoned = learner_body(0) | {"full_name": "Wa Ode\x00Sitti"}
    id_, en = await in_both_languages(capped, "POST", "/v1/learners", headers=admin, json=poisoned)
    assert id_["errors"] == [
        {
            "field": "full_name",
            "message": "Harus satu baris tanpa karakter kendali (seperti NUL, tab, atau baris baru).",
        }
    ]
    assert en["errors"][0]["message"].startswith("Must be a single line without control")
    assert len((await capped.client.get("/v1/learners", headers=admin)).json()["items"]) == 8
    async with capped.runtime.database.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(jobs_table))).scalar_one() == 0
    assert await enrolled_count(capped) == (0, 0)


async def test_an_import_into_an_unknown_course_says_why_in_the_coordinators_language(
    enrollment: RunningService,
) -> None:
    csv_text = "full_name,position,village_code,phone,email\nWa Ode,kepala_desa,74.01.01.2006,,\n"
    unknown_course = str(uuid.uuid4())
    answers = []
    for language in ("id", "en"):
        response = await enrollment.client.post(
            "/v1/learners/import",
            headers={**enrollment.auth("admin"), "Accept-Language": language},
            data={"region_code": "74", "course_id": unknown_course},
            files={"file": ("learners.csv", csv_text, "text/csv")},
        )
        assert response.status_code == 422, response.text
        answers.append((response.json()["code"], response.json()["errors"]))
    assert answers == [
        (
            "unknown_course",
            [{"field": "course_id", "message": "tidak ada pelatihan terbit dengan id ini"}],
        ),
        ("unknown_course", [{"field": "course_id", "message": "no published course has this id"}]),
    ]
    async with enrollment.runtime.database.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(jobs_table))).scalar_one() == 0


async def test_a_supervisors_cohort_is_regional_and_admits_only_its_regions_learners(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    course_id = await a_course(jetstream, enrollment)
    kolaka = enrollment.auth("supervisor", region_code="74.01")
    body = {"course_id": str(course_id), "name": "Kolaka Angkatan 1"}
    elsewhere = await enrollment.client.post(
        "/v1/cohorts", json=body | {"region_code": "74.02"}, headers=kolaka
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_region")
    created = await enrollment.client.post("/v1/cohorts", json=body, headers=kolaka)
    assert created.status_code == 201 and created.json()["region_code"] == "74.01"
    admin = enrollment.auth("admin")
    konawe = await enrollment.client.post(
        "/v1/learners",
        headers=admin,
        json={
            "full_name": "La Ode Konawe",
            "position": "kepala_desa",
            "village_code": "74.02.01.2006",
        },
    )
    refused = await enrollment.client.post(
        "/v1/enrollments",
        headers=admin,
        json={
            "learner_id": konawe.json()["learner_id"],
            "course_id": str(course_id),
            "cohort": "Kolaka Angkatan 1",
        },
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "cohort_outside_region")
    province_wide = await enrollment.client.post(
        "/v1/enrollments/bulk",
        headers=admin,
        json={"course_id": str(course_id), "region_code": "74", "cohort": "Kolaka Angkatan 1"},
    )
    assert (province_wide.status_code, province_wide.json()["code"]) == (
        409,
        "cohort_outside_region",
    )
