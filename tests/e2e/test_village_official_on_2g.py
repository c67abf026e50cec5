"""A kaur keuangan in Pongo, Wakatobi, on a 2G phone, across the five service processes: the
package download drops three times and resumes to the same bytes, lessons and a quiz paper
are done without signal and synced twice, the post-test is passed online; what a broken or
hostile client sends gets a problem, never a 500, and nothing is counted twice."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest

from lms_bench.poor_link import ride, token
from lms_bench.poor_link_run import GOAL
from lms_cli.stack import LocalStack
from servicekit.registry import NAMES as SERVICES
from servicekit.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    ports = {name: free_port() for name in SERVICES}
    with LocalStack(ports=ports, external=False) as local:
        yield local.urls


async def test_a_learner_on_2g_takes_a_course_with_every_byte_sent_once(
    urls: dict[str, str],
) -> None:
    course, (journey,) = await ride(urls, learners=1, seed=23)

    assert len(journey.cuts) == 3 and journey.bytes_received_twice == 0
    assert journey.package_digest_ok
    assert journey.traffic.total <= GOAL * journey.content_bytes
    first, second = journey.sync_statuses
    assert first == ["recorded"] * len(course.lesson_ids)
    assert second == ["duplicate"] * len(course.lesson_ids)
    once, again = journey.quiz_results
    assert once == again and once["passed"] is True and once["offline"] is True
    assert once["answered_at"].endswith("+08:00"), "the phone's own time, as it sent it"
    assert journey.post_test["passed"] is True
    progress = journey.outline["progress"]
    assert progress["completed"] == len(course.lesson_ids)
    assert progress["remaining_lesson_ids"] == []
    lessons = [x for m in journey.outline["modules"] for x in m["lessons"]]
    assert all(x["completed_at"] for x in lessons)

    me = token("learner", learner_id=journey.learner_id)
    admin = token("admin")
    async with httpx.AsyncClient(timeout=30) as http:
        enrollments = await http.get(f"{urls['enrollment']}/v1/enrollments", headers=me)
        enrollment_id = enrollments.json()["items"][0]["enrollment_id"]
        done = await eventually(
            lambda: http.get(f"{urls['enrollment']}/v1/enrollments/{enrollment_id}", headers=me),
            lambda r: r.json()["status"] == "completed",
            timeout=30,
        )
        assert done.json()["post_test_score"] == 100
        report = await eventually(
            lambda: http.get(f"{urls['reporting']}/v1/reports/regions/74.07", headers=admin),
            lambda r: r.status_code == 200 and r.json()["totals"]["completed"] == 1,
            timeout=30,
        )
        assert report.json()["totals"]["completed"] == 1, "counted once, in Wakatobi"
        await broken_and_hostile_clients(http, urls, course.course_id, journey.learner_id)


async def broken_and_hostile_clients(
    http: httpx.AsyncClient, urls: dict[str, str], course_id: str, learner_id: str
) -> None:
    me = token("learner", learner_id=learner_id)
    package = f"{urls['content']}/v1/courses/{course_id}/package"
    for header, code in [
        ("bytes=0-999,500-1500", "ranges_overlap"),
        ("bytes=1000-10", "range_malformed"),
        ("bytes=99999999-", "range_not_satisfiable"),
    ]:
        refused = await http.get(package, headers={**me, "Range": header})
        assert refused.status_code == 416 and refused.json()["code"] == code, header
        assert refused.headers["content-language"] == "id"
        english = await http.get(package, headers={**me, "Range": header, "Accept-Language": "en"})
        assert english.json()["code"] == code and english.headers["content-language"] == "en"
        assert english.json()["detail"] != refused.json()["detail"]
    other_version = {**me, "Range": "bytes=100-", "If-Range": f'"{"0" * 64}"'}
    whole = await http.get(package, headers=other_version)
    assert whole.status_code == 200 and "content-range" not in whole.headers
    stale = await http.get(package, headers={**me, "Range": "bytes=100-", "If-Match": '"x"'})
    assert stale.status_code == 412 and stale.json()["code"] == "package_changed"

    attempts = await http.get(f"{urls['assessment']}/v1/attempts", headers=me)
    mine = next(a for a in attempts.json()["items"] if a["offline"])
    stranger = token("learner", learner_id=str(uuid.uuid4()))
    foreign = await http.post(
        f"{urls['assessment']}/v1/attempts/{mine['attempt_id']}/submit",
        headers=stranger,
        json={"answers": []},
    )
    assert foreign.status_code == 404 and foreign.json()["code"] == "attempt_not_found"
    again = await http.post(
        f"{urls['assessment']}/v1/attempts/{mine['attempt_id']}/submit",
        headers=me,
        json={"answers": [], "answered_at": "2026-13-45T99:00:00+08:00"},
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "answered_at"
    assert again.json()["detail"] == "Permintaan tidak valid: periksa answered_at."
    graded = await http.get(f"{urls['assessment']}/v1/attempts", headers=me)
    assert [a["status"] for a in graded.json()["items"]].count("graded") == 2
