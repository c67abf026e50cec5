"""A provincial coach's day across the service processes on real NATS and PostgreSQL, with
Sulawesi Tenggara's (74) villages: find the officials who stopped learning, read one's contact
(the admin sees that read in the access log), message them all (each gets one message though
the request is sent twice and names one official twice); a Kolaka (74.01) coach cannot reach
Konawe (74.02); an attacker's inputs are refused with problems naming the field."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lms_cli.stack import LocalStack
from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings
from servicekit.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
# Towua and 19 Nopember (Kolaka, 74.01), Lambuya (Konawe, 74.02)
TOWUA, NOPEMBER, LAMBUYA = "74.01.01.2006", "74.01.01.1001", "74.02.01.1001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.settings = ServiceSettings()

    def auth(self, *roles: str, subject: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(self.settings, roles=list(roles), subject=subject, **claims)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    with LocalStack(ports=ports, external=False) as local:
        yield Stack(local.urls)


def ok(response: httpx.Response, status: int | None = None) -> Any:
    assert response.status_code < 400 if status is None else response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    )
    return response.json()


async def published_course(http: httpx.AsyncClient, stack: Stack, code: str) -> tuple[str, str]:
    """A published course of two lessons: its id and its first lesson's."""
    instructor = stack.auth("instructor")
    lesson = {"kind": "text", "body": "Perencanaan ...", "required": True}
    course = ok(
        await http.post(
            f"{stack.urls['content']}/v1/courses",
            headers=instructor,
            json={
                "code": code,
                "title": "Penatausahaan Keuangan Desa",
                "modules": [
                    {
                        "title": "APBDes",
                        "lessons": [
                            {"title": "Siklus APBDes", **lesson},
                            {"title": "Pelaporan", **lesson},
                        ],
                    }
                ],
            },
        ),
        201,
    )
    course_id = course["course_id"]
    ok(
        await http.post(
            f"{stack.urls['content']}/v1/courses/{course_id}/publish", headers=instructor
        )
    )
    await eventually(
        lambda: http.get(f"{stack.urls['enrollment']}/v1/catalog", headers=stack.auth("admin")),
        lambda r: any(c["course_id"] == course_id for c in r.json()),
    )
    return course_id, course["modules"][0]["lessons"][0]["lesson_id"]


async def enrolled_official(
    http: httpx.AsyncClient, stack: Stack, name: str, village: str, course_id: str, n: int
) -> str:
    admin = stack.auth("admin")
    learner = ok(
        await http.post(
            f"{stack.urls['enrollment']}/v1/learners",
            headers=admin,
            json={
                "full_name": name,
                "position": "sekretaris_desa",
                "village_code": village,
                "phone": f"08123456780{n}",
                "email": f"sekdes{n}@desa.id",
            },
        ),
        201,
    )
    learner_id = learner["learner_id"]
    ok(
        await http.post(
            f"{stack.urls['enrollment']}/v1/enrollments",
            headers=admin,
            json={"learner_id": learner_id, "course_id": course_id},
        ),
        201,
    )
    return str(learner_id)


async def inbox(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[dict[str, Any]]:
    me = stack.auth("learner", learner_id=uuid.UUID(learner_id))
    return ok(await http.get(f"{stack.urls['notification']}/v1/inbox", headers=me))["items"]


async def test_a_province_coach_finds_reads_and_messages_inactive_officials_once(
    stack: Stack,
) -> None:
    urls = stack.urls
    async with httpx.AsyncClient(timeout=15) as http:
        course_id, lesson_id = await published_course(http, stack, "KEU-02")
        officials = {
            name: await enrolled_official(http, stack, name, village, course_id, n)
            for n, (name, village) in enumerate(
                [
                    ("Wa Ode Diam", TOWUA),
                    ("La Ode Sepi", NOPEMBER),
                    ("Andi Jauh", LAMBUYA),
                    ("Rajin Belajar", TOWUA),
                ]
            )
        }
        busy = officials.pop("Rajin Belajar")
        me = stack.auth("learner", learner_id=uuid.UUID(busy))
        await eventually(
            lambda: http.post(
                f"{urls['content']}/v1/progress",
                headers=me,
                json={"course_id": course_id, "lesson_id": lesson_id},
            ),
            lambda r: r.status_code in (200, 201),
        )

        # the province's coach finds who stopped, with course, progress, village and contact
        coach = stack.auth("supervisor", subject="pembina-sultra", region_code="74")
        query = f"region_code=74&days=7&course_id={course_id}"
        listed = await eventually(
            lambda: http.get(f"{urls['reporting']}/v1/reports/inactive?{query}", headers=coach),
            lambda r: r.status_code == 200
            and {i["learner_id"] for i in r.json()["items"]} == set(officials.values())
            and all(i["email"] for i in r.json()["items"]),
        )
        items = {i["full_name"]: i for i in listed.json()["items"]}
        diam = items["Wa Ode Diam"]
        assert diam["village_name"] == "Towua" and diam["course_title"].startswith("Penatausahaan")
        assert diam["progress"] == 0 and diam["days_inactive"] == 0
        assert items["Andi Jauh"]["village_name"] == "Lambuya"
        assert items["La Ode Sepi"]["phone"] == "+6281234567801"

        contact = ok(
            await http.get(
                f"{urls['reporting']}/v1/reports/contacts/{officials['Wa Ode Diam']}",
                headers=coach,
            )
        )
        assert contact["email"] == "sekdes0@desa.id"
        access = ok(
            await http.get(
                f"{urls['reporting']}/v1/reports/contact-access"
                f"?learner_id={officials['Wa Ode Diam']}",
                headers=stack.auth("admin"),
            )
        )["items"]
        # newest first: the contact read, then the list's reads (one per page that showed it)
        coach_reads = [a for a in access if a["viewer"] == "pembina-sultra"]
        assert coach_reads[0]["route"] == "GET /v1/reports/contacts/{learner_id}"
        assert {a["route"] for a in coach_reads[1:]} == {"GET /v1/reports/inactive"}
        # and the admin who registered her, shown her contact in enrollment's answer
        others = [(a["viewer_role"], a["route"]) for a in access if a not in coach_reads]
        assert others == [("admin", "POST /v1/learners")]

        # every listed official has been heard of by notification (their welcome is in)
        for learner_id in officials.values():
            await eventually(lambda i=learner_id: inbox(http, stack, i), lambda m: len(m) >= 1)
        ids = list(officials.values())
        message = {
            "title": "Ayo lanjutkan pelatihan",
            "text": "Bapak/Ibu, modul APBDes menunggu. Hubungi kami bila ada kendala.",
            "region_code": "74",
            "course_id": course_id,
            "learner_ids": [*ids, ids[0]],
        }
        sent = {**coach, "Idempotency-Key": "pesan-sultra-1"}
        first = ok(
            await http.post(f"{urls['notification']}/v1/broadcasts", json=message, headers=sent),
            202,
        )
        again = ok(
            await http.post(f"{urls['notification']}/v1/broadcasts", json=message, headers=sent),
            202,
        )
        assert again["broadcast_id"] == first["broadcast_id"] and first["total"] == 3
        await eventually(
            lambda: http.get(
                f"{urls['notification']}/v1/broadcasts/{first['broadcast_id']}", headers=coach
            ),
            lambda r: r.json()["state"] == "done" and r.json()["sent"] == 3,
        )
        for learner_id in ids:
            coaching = [
                m
                for m in await inbox(http, stack, learner_id)
                if m["event_type"] == "notification.coaching"
            ]
            assert len(coaching) == 1 and coaching[0]["title"] == "Ayo lanjutkan pelatihan"
        assert not [
            m for m in await inbox(http, stack, busy) if m["event_type"] == "notification.coaching"
        ]


async def test_a_regency_coach_cannot_reach_another_regency_nor_be_fooled_by_bad_input(
    stack: Stack,
) -> None:
    urls = stack.urls
    async with httpx.AsyncClient(timeout=15) as http:
        course_id, _ = await published_course(http, stack, "KEU-03")
        konawe = await enrolled_official(http, stack, "Andi Jauh", LAMBUYA, course_id, 7)
        await eventually(lambda: inbox(http, stack, konawe), lambda m: len(m) >= 1)
        kolaka = stack.auth("supervisor", subject="pembina-kolaka", region_code="74.01")
        reports = f"{urls['reporting']}/v1/reports"

        foreign = await http.get(f"{reports}/inactive?region_code=74.02&days=7", headers=kolaka)
        assert foreign.status_code == 403 and foreign.json()["code"] == "outside_region"
        theirs = await http.get(f"{reports}/contacts/{konawe}", headers=kolaka)
        unknown = await http.get(f"{reports}/contacts/{uuid.uuid4()}", headers=kolaka)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["detail"] == unknown.json()["detail"]
        nul = await http.get(f"{reports}/inactive?region_code=74%00&days=7", headers=kolaka)
        assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "region_code"
        logged = ok(
            await http.get(
                f"{reports}/contact-access?viewer=pembina-kolaka", headers=stack.auth("admin")
            )
        )
        assert logged["items"] == []

        broadcasts = f"{urls['notification']}/v1/broadcasts"
        text = {"title": "Ayo belajar", "text": "Modul menunggu."}

        async def send(body: dict[str, Any], key: str) -> httpx.Response:
            headers = {**kolaka, "Idempotency-Key": key}
            return await http.post(broadcasts, json={**text, **body}, headers=headers)

        listed = await send({"learner_ids": [konawe]}, "a")
        assert listed.status_code == 404 and listed.json()["errors"][0]["field"] == "learner_ids"
        region = await send({"region_code": "74.02"}, "b")
        assert region.status_code == 403 and region.json()["code"] == "outside_region"
        nul_text = await send({"text": "Modul\x00menunggu"}, "c")
        assert nul_text.status_code == 422 and nul_text.json()["errors"][0]["field"] == "text"
        huge = await send({"text": "x" * 5000}, "d")
        assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "text"
        assert "Content-Language" in huge.headers and huge.json()["detail"]
        assert not [
            m
            for m in await inbox(http, stack, konawe)
            if m["event_type"] == "notification.coaching"
        ]
