"""A provincial coordinator's day across the real processes, with real village codes of
Sulawesi Tenggara (74): the province's supervisor imports a file of officials (twice, then
again under the same Idempotency-Key), opens a regional cohort, enrolls the secretaries and
treasurers by position, watches the job to completion and downloads its row outcomes; a
regency supervisor of Kolaka (74.01) cannot touch Konawe (74.02); formula cells, rows outside
the region and the same person twice in one file are refused or skipped, and nothing personal
reaches the service's log."""

from __future__ import annotations

import csv
import io
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from lms_cli.stack import LocalStack
from servicekit import regions
from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings
from servicekit.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
# real villages of Kabupaten Kolaka (74.01) and Kabupaten Konawe (74.02)
KOLAKA = sorted(v for v in regions.villages_of_province("74") if v.startswith("74.01."))[:6]
KONAWE = sorted(v for v in regions.villages_of_province("74") if v.startswith("74.02."))[:6]
TITLES = ["Sekretaris Desa", "Kaur Keuangan", "Kepala Dusun", "BPD", "Kepala Desa"]
NIKS = {0: "7401010101900001", 7: "7402010101900002"}
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    urls: dict[str, str]
    logs: Any


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    with LocalStack(ports=ports, external=False) as local:
        yield Stack(local.urls, local.log_dir)


def auth(*roles: str, region: str | None = None, subject: str | None = None) -> dict[str, str]:
    token = mint_token(ServiceSettings(), roles=list(roles), region_code=region, subject=subject)
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: "
        f"{response.text}"
    )
    return response.json()


def officials() -> list[list[str]]:
    """Ten officials of Kolaka and Konawe as a regency office writes them, the first one again
    at the end (another clerk, another spelling)."""
    rows = [["Nama", "Jabatan", "Kode Desa", "Telepon", "NIK"]]
    for i in range(10):
        village = (KOLAKA + KONAWE)[i]
        rows.append([f"Aparatur Sultra {i}", TITLES[i % 5], village, "", NIKS.get(i, "")])
    rows.append(["  APARATUR sultra 0 ", "sekretaris_desa", KOLAKA[0], "", NIKS[0]])
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def fifty_megabytes(streamed: list[int]) -> AsyncIterator[bytes]:
    """A 50 MB file, counting what the service let through before refusing it."""
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    chunk = b"Aparatur;BPD;74.01.01.2006\n" * 2340  # about 64 kB
    while sum(streamed) < 50 * MB:
        streamed.append(len(chunk))
        yield chunk


async def upload(
    http: httpx.AsyncClient, url: str, raw: bytes, headers: dict[str, str], name: str = "a.csv"
) -> httpx.Response:
    return await http.post(
        f"{url}/v1/learners/import", headers=headers, files={"file": (name, raw)}
    )


async def finished(http: httpx.AsyncClient, url: str, job_id: str, who: dict[str, str]) -> Any:
    seen: list[float] = []

    async def probe() -> httpx.Response:
        response = await http.get(f"{url}/v1/jobs/{job_id}", headers=who)
        seen.append(response.json()["progress"])
        return response

    done = await eventually(probe, lambda r: r.json()["state"] == "completed", timeout=60)
    assert seen == sorted(seen)  # progress only grows
    return done.json()


async def published_course(
    http: httpx.AsyncClient, urls: dict[str, str], code: str = "ADM-01"
) -> str:
    instructor = auth("instructor")
    course = ok(
        await http.post(
            f"{urls['content']}/v1/courses",
            headers=instructor,
            json={
                "code": code,
                "title": "Administrasi Pemerintahan Desa",
                "modules": [
                    {
                        "title": "Tata Naskah",
                        "lessons": [
                            {"title": "Surat Desa", "kind": "text", "body": "...", "required": True}
                        ],
                    }
                ],
            },
        ),
        201,
    )
    ok(
        await http.post(
            f"{urls['content']}/v1/courses/{course['course_id']}/publish", headers=instructor
        ),
        200,
    )
    await eventually(
        lambda: http.get(f"{urls['enrollment']}/v1/catalog", headers=auth("admin")),
        lambda r: any(c["course_id"] == course["course_id"] for c in r.json()),
    )
    return str(course["course_id"])


async def test_the_province_imports_officials_once_and_enrolls_them_by_position(
    stack: Stack,
) -> None:
    url = stack.urls["enrollment"]
    province = auth("supervisor", region="74", subject="koordinator-sultra")
    async with httpx.AsyncClient(timeout=30) as http:
        course_id = await published_course(http, stack.urls)
        # the first upload, under a key: ten registered, the repeated official skipped
        first = ok(
            await upload(
                http, url, as_csv(officials()), province | {"Idempotency-Key": "sultra-1"}
            ),
            202,
        )
        done = await finished(http, url, first["job_id"], province)
        assert done["counts"] == {"registered": 10, "skipped": 1}
        rows = list(
            csv.DictReader(
                io.StringIO(
                    (
                        await http.get(
                            f"{url}/v1/jobs/{first['job_id']}/rows.csv", headers=province
                        )
                    ).text
                )
            )
        )
        assert rows[-1]["outcome"] == "skipped" and rows[-1]["row"] == "12"
        assert rows[-1]["reason"] == "orang yang sama dengan baris 2"
        # the same key again: the first job, nothing new
        replay = ok(
            await upload(
                http, url, as_csv(officials()), province | {"Idempotency-Key": "sultra-1"}
            ),
            202,
        )
        assert replay["job_id"] == first["job_id"]
        # the same people again, as a workbook: everyone already registered
        again = ok(await upload(http, url, as_xlsx(officials()), province, "aparatur.xlsx"), 202)
        assert again["job_id"] != first["job_id"]
        assert (await finished(http, url, again["job_id"], province))["counts"] == {
            "already_registered": 10,
            "skipped": 1,
        }
        listed = ok(
            await http.get(f"{url}/v1/learners?region_code=74&limit=200", headers=province), 200
        )
        assert len(listed["items"]) == 10

        # a regional cohort, and the secretaries and treasurers of the province enrolled in it
        ok(
            await http.post(
                f"{url}/v1/cohorts",
                headers=province,
                json={"course_id": course_id, "name": "Sultra Angkatan 1"},
            ),
            201,
        )
        bulk = await http.post(
            f"{url}/v1/enrollments/bulk",
            headers=province,
            json={
                "course_id": course_id,
                "region_code": "74",
                "positions": ["sekretaris_desa", "kaur_keuangan"],
                "cohort": "Sultra Angkatan 1",
            },
        )
        job = ok(bulk, 202)
        assert bulk.headers["location"] == f"/v1/jobs/{job['job_id']}"
        done = await finished(http, url, job["job_id"], province)
        assert (done["counts"], done["progress"]) == ({"enrolled": 4}, 1.0)
        outcomes = list(
            csv.DictReader(
                io.StringIO(
                    (
                        await http.get(f"{url}/v1/jobs/{job['job_id']}/rows.csv", headers=province)
                    ).text
                )
            )
        )
        assert (
            sorted(r["position"] for r in outcomes)
            == ["kaur_keuangan"] * 2 + ["sekretaris_desa"] * 2
        )
        assert {r["outcome"] for r in outcomes} == {"enrolled"}
        jobs = ok(await http.get(f"{url}/v1/jobs?kind=learner_import", headers=province), 200)
        assert [j["job_id"] for j in jobs["items"]] == [again["job_id"], first["job_id"]]


async def test_a_regency_supervisor_cannot_touch_another_regency(stack: Stack) -> None:
    url = stack.urls["enrollment"]
    kolaka = auth("supervisor", region="74.01", subject="koordinator-kolaka")
    admin = auth("admin")
    async with httpx.AsyncClient(timeout=30) as http:
        before = ok(
            await http.get(f"{url}/v1/learners?region_code=74.02&limit=200", headers=admin), 200
        )
        province_jobs = ok(await http.get(f"{url}/v1/jobs", headers=admin), 200)["items"]
        course_id = province_jobs[0]["params"].get("course_id") or str(uuid.uuid4())
        refused = await http.post(
            f"{url}/v1/enrollments/bulk",
            headers=kolaka,
            json={"course_id": course_id, "region_code": "74.02"},
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "outside_region")
        # one row of Konawe in a file of Kolaka: the whole file refused, that row named
        rows = [
            ["full_name", "position", "village_code"],
            ["Baru Kolaka", "Kepala Dusun", KOLAKA[1]],
            ["Baru Konawe", "Kepala Dusun", KONAWE[1]],
        ]
        problem = ok(await upload(http, url, as_csv(rows), kolaka), 403)
        assert [(e["row"], e["field"]) for e in problem["errors"]] == [(3, "village_code")]
        # the province's jobs are not Kolaka's to see or cancel
        for job in province_jobs:
            assert (
                await http.get(f"{url}/v1/jobs/{job['job_id']}", headers=kolaka)
            ).status_code == 404
            assert (
                await http.post(f"{url}/v1/jobs/{job['job_id']}/cancel", headers=kolaka)
            ).status_code == 404
        assert ok(await http.get(f"{url}/v1/jobs", headers=kolaka), 200)["items"] == []
        after = ok(
            await http.get(f"{url}/v1/learners?region_code=74.02&limit=200", headers=admin), 200
        )
        assert after == before
        assert ok(await http.get(f"{url}/v1/jobs", headers=admin), 200)["items"] == province_jobs


async def test_hostile_files_are_refused_and_exports_never_run_formulas(stack: Stack) -> None:
    url = stack.urls["enrollment"]
    province = auth("supervisor", region="74", subject="pengunggah-nakal")
    async with httpx.AsyncClient(timeout=30) as http:
        formula = [
            ["full_name", "position", "village_code"],
            ["Wa Ode", "BPD", KOLAKA[2]],
            ['=HYPERLINK("http://x.example","klik")', "BPD", KOLAKA[2]],
        ]
        for raw, name in ((as_csv(formula), "a.csv"), (as_xlsx(formula), "a.xlsx")):
            problem = ok(await upload(http, url, raw, province, name), 422)
            assert problem["code"] == "formula_in_cell"
            assert [(e["row"], e["field"]) for e in problem["errors"]] == [(3, "full_name")]
        latin1 = "full_name,position,village_code\nWa Ödé,BPD,74.01.01.2006\n".encode("latin-1")
        problem = ok(await upload(http, url, latin1, province), 422)
        assert (problem["code"], problem["errors"][0]["row"]) == ("file_encoding", 2)
        streamed: list[int] = []
        try:
            huge = await http.post(
                f"{url}/v1/learners/import",
                headers=province | {"Content-Type": "multipart/form-data; boundary=b"},
                content=fifty_megabytes(streamed),  # chunked: refused as it comes in
            )
            assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")
        except (httpx.ReadError, httpx.WriteError):
            pass  # the 413 was sent, and the connection closed on the rest of the body
        # refused while streaming: the 5 MB cap, plus what the sockets' buffers on both ends
        # (several MB each on loopback) took before the close, far from the 50 MB sent
        assert sum(streamed) < 25 * MB
        # a name that a spreadsheet would run, registered through the API, is exported inert
        ok(
            await http.post(
                f"{url}/v1/learners",
                headers=province,
                json={
                    "full_name": "-1+1 Wa Ode",
                    "position": "kasi_pelayanan",
                    "village_code": KOLAKA[3],
                },
            ),
            201,
        )
        course_id = await published_course(http, stack.urls, code="ADM-02")
        job = ok(
            await http.post(
                f"{url}/v1/enrollments/bulk",
                headers=province,
                json={
                    "course_id": course_id,
                    "region_code": KOLAKA[3],
                    "positions": ["kasi_pelayanan"],
                },
            ),
            202,
        )
        await finished(http, url, job["job_id"], province)
        export = (await http.get(f"{url}/v1/jobs/{job['job_id']}/rows.csv", headers=province)).text
        assert "'-1+1 Wa Ode" in export
    log = (stack.logs / "enrollment.log").read_text()
    assert "Aparatur Sultra" not in log and "Wa Ode" not in log
    assert not any(nik in log for nik in NIKS.values())
