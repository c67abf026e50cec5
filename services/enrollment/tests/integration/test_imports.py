"""Learner imports as jobs on real PostgreSQL and NATS: nobody registered twice, the same
Idempotency-Key answers the first job again, a file with a row outside the region is refused
whole, jobs are listed within the caller's region and cancelled between chunks."""

import asyncio
import csv
import io
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select, text

from enrollment.domain.identity import NaturalKey
from enrollment.domain.model import Position
from enrollment.jobs import identity_lock
from enrollment.store.tables import job_rows, learners, outbox
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
KOLAKA = ["74.01.01.2006", "74.01.01.2007", "74.01.01.1002"]
KONAWE = "74.02.01.2006"
HEADER = "nama;jabatan;kode_desa;telepon;nik\n"


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


def officials(count: int, start: int = 0) -> str:
    titles = ["Sekretaris Desa", "Kaur Keuangan", "Kepala Dusun", "BPD"]
    return "".join(
        f"Aparatur {i};{titles[i % 4]};{KOLAKA[i % 3]};;\n" for i in range(start, start + count)
    )


async def upload(
    service: RunningService, body: str, region: str = "74.01", key: str | None = None, **form: str
) -> tuple[int, dict]:
    headers = service.auth("supervisor", region_code=region)
    if key:
        headers["Idempotency-Key"] = key
    response = await service.client.post(
        "/v1/learners/import",
        headers=headers,
        data=form,
        files={"file": ("aparatur.csv", body.encode(), "text/csv")},
    )
    return response.status_code, response.json()


async def finished(service: RunningService, job_id: str) -> dict:
    admin = service.auth("admin")
    response = await eventually(
        lambda: service.client.get(f"/v1/jobs/{job_id}", headers=admin),
        lambda r: r.json()["state"] in ("completed", "failed", "cancelled"),
    )
    return response.json()


async def outcomes(service: RunningService, job_id: str) -> list[dict[str, str]]:
    response = await service.client.get(
        f"/v1/jobs/{job_id}/rows.csv", headers=service.auth("admin")
    )
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def counted(service: RunningService) -> tuple[int, int]:
    async with service.runtime.database.read() as conn:
        people = (await conn.execute(select(func.count()).select_from(learners))).scalar_one()
        registered = (
            await conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.event_type == "lms.enrollment.learner-registered.v1")
            )
        ).scalar_one()
    return people, registered


async def test_an_upload_twice_registers_nobody_twice_and_a_key_replays_the_first_job(
    enrollment: RunningService,
) -> None:
    body = HEADER + officials(12) + "Wa Ode Sitti;Sekretaris Desa;74.01.01.1002;0812-3456-7890;\n"
    status, job = await upload(enrollment, body, key="kolaka-1")
    assert status == 202 and job["kind"] == "learner_import" and job["total"] == 13
    first = await finished(enrollment, job["job_id"])
    assert first["counts"] == {"registered": 13}
    assert await counted(enrollment) == (13, 13)
    async with enrollment.runtime.database.read() as conn:
        kept = select(func.count()).select_from(job_rows).where(job_rows.c.input.is_not(None))
        assert (await conn.execute(kept)).scalar_one() == 0  # the upload's copy is gone
    # the same key and file: the first answer again, no second job
    replay_status, replay = await upload(enrollment, body, key="kolaka-1")
    assert (replay_status, replay["job_id"]) == (202, job["job_id"])
    status, reused = await upload(enrollment, body + officials(1, 99), key="kolaka-1")
    assert (status, reused["code"]) == (422, "idempotency_key_reused")
    # without a key, a re-upload (names written otherwise) finds everyone registered
    again = body.replace("Wa Ode Sitti", "  WA ODE  sitti ").replace(
        "Kaur Keuangan", "kaur_keuangan"
    )
    status, second = await upload(enrollment, again)
    assert status == 202 and second["job_id"] != job["job_id"]
    done = await finished(enrollment, second["job_id"])
    assert done["counts"] == {"already_registered": 13}
    assert await counted(enrollment) == (13, 13)
    rows = await outcomes(enrollment, second["job_id"])
    assert {r["outcome"] for r in rows} == {"already_registered"}
    assert [r["row"] for r in rows] == [str(n) for n in range(2, 15)]


async def test_a_file_with_a_row_outside_the_region_is_refused_whole_naming_the_row(
    enrollment: RunningService,
) -> None:
    body = HEADER + officials(3) + f"Di Konawe;Kepala Desa;{KONAWE};;\n" + officials(2, 3)
    status, problem = await upload(enrollment, body)
    assert (status, problem["code"]) == (403, "outside_region")
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(5, "village_code")]
    assert problem["errors"][0]["message"] == "di luar wilayah 74.01"
    assert await counted(enrollment) == (0, 0)
    listed = await enrollment.client.get("/v1/jobs", headers=enrollment.auth("admin"))
    assert listed.json()["items"] == []
    # and a supervisor cannot name a region that is not theirs
    status, problem = await upload(enrollment, HEADER + officials(1), region_code="74.02")
    assert (status, problem["code"]) == (403, "outside_region")


async def test_bad_rows_are_skipped_with_their_column_and_reason_in_indonesian(
    enrollment: RunningService, jetstream: JetStreamContext
) -> None:
    body = (
        HEADER
        + "Wa Ode;Sekretaris Desa;74.01.01.2006;;\n"
        + "La Ode;Camat;74.01.01.2006;;\n"
        + "Telepon Salah;Kepala Desa;74.01.01.2007;12;\n"
        + "wa ode;sekretaris_desa;74.01.01.2006;;\n"
        + "Desa Tak Ada;Kepala Desa;74.01.01.2001;;\n"
    )
    status, job = await upload(enrollment, body)
    assert status == 202
    done = await finished(enrollment, job["job_id"])
    assert done["counts"] == {"registered": 1, "skipped": 4}
    skipped = {
        int(r["row"]): (r["column"], r["reason"])
        for r in await outcomes(enrollment, job["job_id"])
        if r["outcome"] == "skipped"
    }
    assert skipped[3][0] == "position" and skipped[3][1].startswith("Bukan jabatan")
    assert skipped[4] == ("phone", "Bukan nomor telepon yang valid.")
    assert skipped[5] == ("full_name", "orang yang sama dengan baris 2")
    assert skipped[6] == ("village_code", "Tidak ada desa dengan kode 74.01.01.2001.")


async def test_malformed_files_are_refused_before_anything_is_applied(
    enrollment: RunningService,
) -> None:
    cases = {
        "file_encoding": ("nama,jabatan,kode_desa\nÄ,BPD,74.01.01.2006\n".encode("latin-1"), 2),
        "missing_column": (b"nama,kode_desa\nWa Ode,74.01.01.2006\n", 1),
        "formula_in_cell": (b"nama,jabatan,kode_desa\n@SUM(1),BPD,74.01.01.2006\n", 2),
    }
    headers = enrollment.auth("supervisor", region_code="74")
    for code, (raw, row) in cases.items():
        response = await enrollment.client.post(
            "/v1/learners/import", headers=headers, files={"file": ("a.csv", raw, "text/csv")}
        )
        assert (response.status_code, response.json()["code"]) == (422, code), response.text
        assert response.json()["errors"][0]["row"] == row
    too_big = await enrollment.client.post(
        "/v1/learners/import",
        headers=headers,
        files={"file": ("a.csv", b"x" * (enrollment.settings.import_max_bytes + 1), "text/csv")},
    )
    assert too_big.status_code == 413
    assert await counted(enrollment) == (0, 0)


async def test_jobs_are_listed_within_the_callers_region_and_filtered(
    enrollment: RunningService,
) -> None:
    _, kolaka = await upload(enrollment, HEADER + officials(2))
    status, konawe = await upload(
        enrollment, HEADER + f"Di Konawe;Kepala Desa;{KONAWE};;\n", region="74.02"
    )
    assert status == 202
    for job in (kolaka, konawe):
        await finished(enrollment, job["job_id"])

    async def listed(region: str | None, query: str = "") -> list[str]:
        headers = (
            enrollment.auth("supervisor", region_code=region)
            if region
            else enrollment.auth("admin")
        )
        response = await enrollment.client.get(f"/v1/jobs{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [j["job_id"] for j in response.json()["items"]]

    assert await listed("74.01") == [kolaka["job_id"]]
    assert await listed("74") == [konawe["job_id"], kolaka["job_id"]]
    assert await listed(None, "?kind=learner_import&state=completed&limit=1") == [konawe["job_id"]]
    assert await listed(None, "?kind=bulk_enrollment") == []
    assert await listed(None, "?created_by=someone-else") == []


async def test_a_cancelled_import_stops_after_the_chunk_in_flight(
    enrollment: RunningService,
) -> None:
    """A row's identity is held by another transaction (as by a concurrent import of the same
    person): the job waits there, mid-way, while it is cancelled."""
    chunk = enrollment.settings.import_chunk_rows
    held = NaturalKey.of(
        f"Aparatur {chunk + 10}", KOLAKA[(chunk + 10) % 3], Position.SEKRETARIS_DESA
    )
    body = HEADER + "".join(
        f"Aparatur {i};Sekretaris Desa;{KOLAKA[i % 3]};;\n" for i in range(3 * chunk)
    )
    engine = enrollment.runtime.database.engine
    async with engine.connect() as holder:
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": identity_lock(str(held))}
        )
        _, job = await upload(enrollment, body)
        admin = enrollment.auth("admin")
        await eventually(
            lambda: enrollment.client.get(f"/v1/jobs/{job['job_id']}", headers=admin),
            lambda r: r.json()["processed"] == chunk,
        )
        cancel = asyncio.create_task(
            enrollment.client.post(f"/v1/jobs/{job['job_id']}/cancel", headers=admin)
        )
        await holder.rollback()
        assert (await cancel).status_code == 200
    done = await finished(enrollment, job["job_id"])
    assert done["state"] == "cancelled" and done["processed"] == 2 * chunk
    rows = await outcomes(enrollment, job["job_id"])
    assert [r["outcome"] for r in rows].count("cancelled") == chunk
    assert await counted(enrollment) == (2 * chunk, 2 * chunk)
    again = await enrollment.client.post(f"/v1/jobs/{job['job_id']}/cancel", headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "job_closed")
