"""Bulk enrollment jobs and CSV import on real PostgreSQL and NATS."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

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
    assert await enrolled_count(enrollment) == (6, 6)


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


async def test_bulk_jobs_need_an_admin_and_a_published_course(enrollment: RunningService) -> None:
    body = {"course_id": str(uuid.uuid4()), "region_code": "74"}
    supervisor = enrollment.auth("supervisor", region_code="74")
    assert (
        await enrollment.client.post("/v1/enrollments/bulk", json=body, headers=supervisor)
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


async def test_csv_import_keeps_valid_rows_and_reports_each_bad_row(
    enrollment: RunningService,
) -> None:
    csv_text = (
        "full_name,position,village_code,phone,email\n"
        "Wa Ode Sitti,sekretaris_desa,74.01.01.2006,081234567890,\n"
        "La Ode Arif,kepala_desa,74.01.01.2007,,arif@example.id\n"
        "Salah Desa,kepala_desa,74.01.01.2001,,\n"
        "Jawa Barat,kepala_desa,32.01.01.1001,,\n"
        "Telepon,kaur_keuangan,74.01.01.2006,12,\n"
    )
    response = await enrollment.client.post(
        "/v1/learners/import",
        headers=enrollment.auth("supervisor", region_code="74"),
        data={"region_code": "74"},
        files={"file": ("learners.csv", csv_text, "text/csv")},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["rows"], result["created"]) == (5, 2)
    assert [(e["row"], e["field"], e["message"]) for e in result["errors"]] == [
        (4, "village_code", "Tidak ada desa dengan kode 74.01.01.2001."),
        (5, "village_code", "di luar wilayah 74"),
        (6, "phone", "Bukan nomor telepon yang valid."),
    ]
    listed = await enrollment.client.get("/v1/learners", headers=enrollment.auth("admin"))
    assert len(listed.json()["items"]) == 2


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
    python_event = c.new_event(twin, event_id=from_sql.id, time=from_sql.time)
    assert from_sql.model_dump(exclude={"correlationid"}) == python_event.model_dump(
        exclude={"correlationid"}
    )
