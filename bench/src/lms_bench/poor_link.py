"""A village official on a 2G phone takes a course the way the link allows: the package
download is cut off and resumed, lessons are done and a quiz paper answered without signal and
synced later (and sent twice when an answer is lost), the post-test is taken online. Every
byte and round trip of the learner's phone is counted (``wire.py``) against the course's own
content size, the floor.

The author's setup and the waits for events to reach other services go over an uncounted
client: the phone neither does them nor pays for them.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import httpx

from servicekit.auth import mint_token
from servicekit.settings import ServiceSettings
from servicekit.testing.waiting import eventually

from .village_course import Course, answers_for, demo_course
from .wire import CountingTransport, Traffic

WITA = timezone(timedelta(hours=8))  # the phone's clock in Sulawesi Tenggara
PONGO = "74.07.01.1002"  # a village of Wangi-Wangi, Wakatobi


@dataclass
class Journey:
    """What one learner's phone sent and received, and what it ended with."""

    learner_id: str
    content_bytes: int
    package_bytes: int
    traffic: Traffic
    cuts: list[int] = field(default_factory=list)
    bytes_received_twice: int = 0
    package_digest_ok: bool = False
    quiz_results: list[dict[str, Any]] = field(default_factory=list)
    sync_statuses: list[list[str]] = field(default_factory=list)
    outline: dict[str, Any] = field(default_factory=dict)
    post_test: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.traffic.total / self.content_bytes


def token(*roles: str, learner_id: str | None = None) -> dict[str, str]:
    minted = mint_token(
        ServiceSettings(),
        roles=list(roles),
        learner_id=uuid.UUID(learner_id) if learner_id else None,
    )
    return {"Authorization": f"Bearer {minted}"}


async def download_with_cuts(
    phone: httpx.AsyncClient, url: str, me: dict[str, str], chance: random.Random, cuts: int
) -> tuple[bytes, str, list[int], int]:
    """The package, its connection dropped ``cuts`` times at random bytes; each resume asks for
    the bytes after the last one that arrived. Returns the bytes, the announced digest, where
    it was cut and how many bytes arrived twice."""
    received, digest = b"", ""
    at: list[int] = []
    ranges: list[tuple[int, int]] = []
    etag, size = None, None
    while size is None or len(received) < size:
        headers = dict(me)
        if received:
            headers |= {"Range": f"bytes={len(received)}-", "If-Range": etag or ""}
        start = len(received)
        async with phone.stream("GET", url, headers=headers) as response:
            assert response.status_code in (200, 206), response.status_code
            etag, digest = response.headers["etag"], response.headers["repr-digest"]
            size = size or int(response.headers["content-length"])
            stop = (
                chance.randrange(start + 1, size) if len(at) < cuts and start + 1 < size else None
            )
            async for chunk in response.aiter_raw():
                received += chunk
                if stop is not None and len(received) >= stop:
                    at.append(len(received))
                    break  # the signal is gone: the connection drops mid-body
        ranges.append((start, len(received)))
    twice = sum(max(0, end - start) for (_, end), (start, _) in pairwise(ranges))
    return received, digest, at, twice


def digest_matches(data: bytes, announced: str) -> bool:
    return announced == f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


async def learner_journey(
    urls: dict[str, str], course: Course, name: str, seed: int, cuts: int = 3
) -> Journey:
    admin = token("admin")
    async with httpx.AsyncClient(timeout=30) as server:
        learner = await server.post(
            f"{urls['enrollment']}/v1/learners",
            headers=admin,
            json={"full_name": name, "position": "kaur_keuangan", "village_code": PONGO},
        )
        assert learner.status_code == 201, learner.text
        learner_id = learner.json()["learner_id"]
        me = token("learner", learner_id=learner_id)
        traffic = Traffic()
        transport = CountingTransport(traffic)
        speaks = {"Accept-Language": "id-ID,id;q=0.9"}  # a phone set up in Indonesian
        async with httpx.AsyncClient(transport=transport, timeout=60, headers=speaks) as phone:
            link = Link(phone, traffic, server, urls, me)
            return await _take_course(link, course, learner_id, seed, cuts)


@dataclass
class Link:
    """The phone (counted), the server side's uncounted client, the services and the token."""

    phone: httpx.AsyncClient
    traffic: Traffic
    server: httpx.AsyncClient
    urls: dict[str, str]
    me: dict[str, str]


async def _take_course(
    link: Link, course: Course, learner_id: str, seed: int, cuts: int
) -> Journey:
    phone, server, urls, me, traffic = link.phone, link.server, link.urls, link.me, link.traffic
    content, assessment = urls["content"], urls["assessment"]
    course_url = f"{content}/v1/courses/{course.course_id}"
    traffic.step = "enroll"
    enrolled = await phone.post(
        f"{urls['enrollment']}/v1/enrollments",
        headers=me,
        json={"learner_id": learner_id, "course_id": course.course_id},
    )
    assert enrolled.status_code == 201, enrolled.text
    await eventually(
        lambda: server.get(course_url, headers=me),
        lambda r: r.status_code == 200 and r.json()["progress"] is not None,
        timeout=30,
    )
    traffic.step = "outline"
    outline = (await phone.get(course_url, headers=me)).json()
    traffic.step = "package"
    package, digest, at, twice = await download_with_cuts(
        phone, f"{course_url}/package", me, random.Random(seed), cuts
    )
    await eventually(
        lambda: server.get(f"{assessment}/v1/assessments/{course.quiz_id}", headers=me),
        lambda r: r.status_code == 200,
        timeout=30,
    )
    traffic.step = "quiz paper"
    paper = await phone.post(f"{assessment}/v1/assessments/{course.quiz_id}/papers", headers=me)
    assert paper.status_code == 201, paper.text
    journey = Journey(learner_id, outline["content_bytes"], len(package), traffic, at, twice)
    journey.package_digest_ok = digest_matches(package, digest)
    await _offline_then_sync(link, course, paper.json(), journey)
    traffic.step = "post-test"
    journey.post_test = await _post_test(link, course)
    journey.outline = (await server.get(course_url, headers=me)).json()
    return journey


async def _offline_then_sync(
    link: Link, course: Course, paper: dict[str, Any], journey: Journey
) -> None:
    """No signal: lessons done and the quiz answered on the phone's clock. Back in range: one
    sync of every lesson and the paper, each sent twice because the first answer was lost."""
    started = datetime.now(UTC)
    items = [
        {
            "client_id": f"hp-{n}",
            "course_id": course.course_id,
            "lesson_id": lesson_id,
            "completed_at": (started + timedelta(seconds=n)).astimezone(WITA).isoformat(),
        }
        for n, lesson_id in enumerate(course.lesson_ids)
    ]
    answered_at = (started + timedelta(seconds=len(items))).astimezone(WITA)
    body = {
        "answers": answers_for(course.quiz_key, paper["questions"]),
        "answered_at": answered_at.isoformat(),
    }
    phone, urls, me = link.phone, link.urls, link.me
    journey.traffic.step = "sync"
    for _ in range(2):
        synced = await phone.post(
            f"{urls['content']}/v1/progress/sync", headers=me, json={"items": items}
        )
        journey.sync_statuses.append([x["status"] for x in synced.json()["items"]])
        submitted = await phone.post(
            f"{urls['assessment']}{paper['rules']['submit_path']}", headers=me, json=body
        )
        journey.quiz_results.append(submitted.json())


async def _post_test(link: Link, course: Course) -> dict[str, Any]:
    phone, server, me = link.phone, link.server, link.me
    assessment = link.urls["assessment"]
    await eventually(
        lambda: server.get(f"{assessment}/v1/assessments/{course.post_test_id}", headers=me),
        lambda r: r.status_code == 200 and r.json()["available"],
        timeout=30,
    )
    attempt = await phone.post(
        f"{assessment}/v1/assessments/{course.post_test_id}/attempts", headers=me
    )
    assert attempt.status_code == 201, attempt.text
    questions = attempt.json()["questions"]
    answers = answers_for(course.post_test_key, questions)
    result = await phone.post(
        f"{assessment}/v1/attempts/{attempt.json()['attempt_id']}/submit",
        headers=me,
        json={"answers": answers},
    )
    return dict(result.json())


async def ride(urls: dict[str, str], learners: int, seed: int) -> tuple[Course, list[Journey]]:
    """The demo course, then each learner's journey one after another (a phone at a time)."""
    course = await demo_course(urls, token("instructor"), seed)
    journeys = [
        await learner_journey(urls, course, f"Pamong {n + 1}", seed + n) for n in range(learners)
    ]
    return course, journeys
