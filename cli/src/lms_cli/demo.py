"""Demo data in Bahasa Indonesia, loaded through the public HTTP APIs like any gateway would."""

from __future__ import annotations

import time
from typing import Any

import httpx
from rich.console import Console

from servicekit.auth import mint_token
from servicekit.settings import ServiceSettings

console = Console()
COHORT = "Angkatan 1 2026"

COURSES: list[dict[str, Any]] = [
    {
        "code": "KEU-DESA-01",
        "title": "Pengelolaan Keuangan Desa",
        "description": "Perencanaan, penatausahaan, pelaporan dan pertanggungjawaban APBDes.",
        "competency_area": "Tata kelola keuangan",
        "modules": [
            {
                "title": "Dasar-dasar APBDes",
                "lessons": [
                    {
                        "title": "Siklus pengelolaan keuangan desa",
                        "kind": "text",
                        "required": True,
                        "body": "Pengelolaan keuangan desa meliputi perencanaan, pelaksanaan, "
                        "penatausahaan, pelaporan dan pertanggungjawaban.",
                    },
                    {
                        "title": "Video: menyusun APBDes",
                        "kind": "video",
                        "required": True,
                        "url": "https://video.example.id/apbdes",
                        "duration_seconds": 540,
                    },
                ],
            },
            {
                "title": "Pelaporan",
                "lessons": [
                    {
                        "title": "Laporan realisasi APBDes",
                        "kind": "text",
                        "required": True,
                        "body": "Laporan realisasi disampaikan kepada bupati/wali kota setiap semester.",
                    },
                ],
            },
        ],
    },
    {
        "code": "PELAYANAN-01",
        "title": "Pelayanan Publik di Desa",
        "description": "Standar pelayanan, administrasi kependudukan dan pengaduan masyarakat.",
        "competency_area": "Pelayanan publik",
        "modules": [
            {
                "title": "Standar pelayanan",
                "lessons": [
                    {
                        "title": "Maklumat pelayanan desa",
                        "kind": "text",
                        "required": True,
                        "body": "Maklumat pelayanan memuat janji dan kesanggupan pelayanan.",
                    },
                    {
                        "title": "Tautan: Permendagri pelayanan",
                        "kind": "link",
                        "required": False,
                        "url": "https://peraturan.example.id/pelayanan",
                    },
                ],
            },
        ],
    },
]

QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "KEU-DESA-01": [
        {
            "kind": "single_choice",
            "prompt": "Siapa yang menetapkan APBDes?",
            "options": [
                {"text": "Kepala desa bersama BPD", "correct": True},
                {"text": "Camat", "correct": False},
                {"text": "Bupati", "correct": False},
            ],
        },
        {
            "kind": "true_false",
            "prompt": "Laporan realisasi APBDes disampaikan setiap semester.",
            "answer": True,
        },
        {
            "kind": "short_answer",
            "prompt": "Singkatan dari anggaran pendapatan dan belanja desa?",
            "accepted_answers": ["APBDes"],
            "match": "normalised",
        },
    ],
    "PELAYANAN-01": [
        {
            "kind": "multiple_choice",
            "prompt": "Yang termasuk pelayanan administrasi desa:",
            "options": [
                {"text": "Surat keterangan domisili", "correct": True},
                {"text": "Surat pengantar nikah", "correct": True},
                {"text": "Penerbitan paspor", "correct": False},
            ],
        },
        {
            "kind": "true_false",
            "prompt": "Maklumat pelayanan memuat janji pelayanan.",
            "answer": True,
        },
    ],
}

LEARNERS = [
    ("Wa Ode Sitti Rahma", "sekretaris_desa", "74.01.01.2006", "081234567801"),
    ("La Ode Muhammad Arif", "kepala_desa", "74.01.01.2006", "081234567802"),
    ("Nurhayati", "kaur_keuangan", "74.01.01.2007", None),
    ("Andi Baso", "kasi_pelayanan", "74.01.01.1001", None),
    ("Hasrul", "kepala_dusun", "74.71.01.1005", None),
    ("Sitti Aminah", "anggota_bpd", "74.02.01.2006", None),
]


def load_demo(urls: dict[str, str], settings: ServiceSettings) -> None:
    admin = {"Authorization": "Bearer " + mint_token(settings, roles=["admin"], subject="demo")}
    with httpx.Client(timeout=10, headers=admin) as http:
        course_ids = []
        for course in COURSES:
            created = _ok(http.post(f"{urls['content']}/v1/courses", json=course))
            course_id = created["course_id"]
            _ok(http.post(f"{urls['content']}/v1/courses/{course_id}/publish"))
            course_ids.append(course_id)
            for kind, title in (("pre_test", "Pre-test"), ("post_test", "Post-test")):
                _ok(
                    http.post(
                        f"{urls['assessment']}/v1/assessments",
                        json={
                            "course_id": course_id,
                            "kind": kind,
                            "title": f"{title}: {course['title']}",
                            "pass_score": 70,
                            "max_attempts": 3,
                            "time_limit_seconds": 1800,
                            "shuffle_questions": True,
                            "shuffle_options": True,
                            "questions": QUESTIONS[course["code"]],
                        },
                    )
                )
        _wait_for_catalog(http, urls["enrollment"], set(course_ids))
        for course_id in course_ids:
            _ok(
                http.post(
                    f"{urls['enrollment']}/v1/cohorts",
                    json={
                        "course_id": course_id,
                        "name": COHORT,
                        "enrollment_opens_at": "2026-01-01T00:00:00+07:00",
                        "enrollment_closes_at": "2027-12-31T23:59:59+07:00",
                    },
                )
            )
        for name, position, village, phone in LEARNERS:
            body = {"full_name": name, "position": position, "village_code": village}
            if phone:
                body["phone"] = phone
            response = http.post(f"{urls['enrollment']}/v1/learners", json=body)
            if response.status_code != 201:
                console.print(f"[yellow]demo learner {name} skipped: {response.text}")
                continue
            learner = response.json()
            _ok(
                http.post(
                    f"{urls['enrollment']}/v1/enrollments",
                    json={
                        "learner_id": learner["learner_id"],
                        "course_id": course_ids[0],
                        "cohort": COHORT,
                    },
                )
            )
        console.print(
            f"  demo data: {len(COURSES)} courses with pre- and post-tests, "
            f"{len(LEARNERS)} learners in Sulawesi Tenggara"
        )


def _wait_for_catalog(
    http: httpx.Client, url: str, course_ids: set[str], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        known = {c["course_id"] for c in _ok(http.get(f"{url}/v1/catalog"))}
        if course_ids <= known:
            return
        time.sleep(0.1)
    raise TimeoutError("enrollment did not learn the demo courses from course-published events")


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text}"
        )
    return response.json()
