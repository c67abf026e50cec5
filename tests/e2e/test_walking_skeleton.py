"""The walking skeleton across five service processes on real NATS and PostgreSQL:
register -> enroll -> complete every lesson -> pass the post-test -> completed, counted,
and notified."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from servicekit.testing.waiting import eventually

from .conftest import Stack, answer_key, ok

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
TOWUA = "74.01.01.2006"


async def test_a_learner_in_towua_completes_a_course_and_everyone_sees_it(stack: Stack) -> None:
    urls = stack.urls
    async with httpx.AsyncClient(timeout=15) as http:
        instructor, admin = stack.auth("instructor"), stack.auth("admin")
        course = ok(
            await http.post(
                f"{urls['content']}/v1/courses",
                headers=instructor,
                json={
                    "code": "KEU-01",
                    "title": "Pengelolaan Keuangan Desa",
                    "modules": [
                        {
                            "title": "APBDes",
                            "lessons": [
                                {
                                    "title": "Siklus APBDes",
                                    "kind": "text",
                                    "body": "Perencanaan ...",
                                    "required": True,
                                },
                                {
                                    "title": "Video APBDes",
                                    "kind": "video",
                                    "url": "https://video.example.id/1",
                                    "duration_seconds": 300,
                                    "required": True,
                                },
                            ],
                        }
                    ],
                },
            ),
            201,
        )
        course_id = course["course_id"]
        lesson_ids = [
            lesson["lesson_id"] for module in course["modules"] for lesson in module["lessons"]
        ]
        ok(await http.post(f"{urls['content']}/v1/courses/{course_id}/publish", headers=instructor))
        post_test = ok(
            await http.post(
                f"{urls['assessment']}/v1/assessments",
                headers=instructor,
                json={
                    "course_id": course_id,
                    "kind": "post_test",
                    "title": "Post-test",
                    "pass_score": 70,
                    "max_attempts": 2,
                    "time_limit_seconds": 600,
                    "shuffle_questions": True,
                    "shuffle_options": True,
                    "questions": [
                        {
                            "kind": "single_choice",
                            "prompt": "Siapa menetapkan APBDes?",
                            "options": [
                                {"text": "Kepala desa bersama BPD", "correct": True},
                                {"text": "Camat", "correct": False},
                            ],
                        },
                        {
                            "kind": "true_false",
                            "prompt": "APBDes ditetapkan dengan peraturan desa.",
                            "answer": True,
                        },
                    ],
                },
            ),
            201,
        )

        await eventually(
            lambda: http.get(f"{urls['enrollment']}/v1/catalog", headers=admin),
            lambda r: any(c["course_id"] == course_id for c in r.json()),
        )
        learner = ok(
            await http.post(
                f"{urls['enrollment']}/v1/learners",
                headers=admin,
                json={
                    "full_name": "Wa Ode Sitti",
                    "position": "sekretaris_desa",
                    "village_code": TOWUA,
                },
            ),
            201,
        )
        learner_id = learner["learner_id"]
        me = stack.auth("learner", learner_id=learner_id)
        enrollment = ok(
            await http.post(
                f"{urls['enrollment']}/v1/enrollments",
                headers=me,
                json={"learner_id": learner_id, "course_id": course_id},
            ),
            201,
        )

        for lesson_id in lesson_ids:
            await eventually(
                lambda lesson_id=lesson_id: http.post(
                    f"{urls['content']}/v1/progress",
                    headers=me,
                    json={"course_id": course_id, "lesson_id": lesson_id},
                ),
                lambda r: r.status_code in (200, 201),
            )

        attempt = (
            await eventually(
                lambda: http.post(
                    f"{urls['assessment']}/v1/assessments/{post_test['assessment_id']}/attempts",
                    headers=me,
                ),
                lambda r: r.status_code == 201,
            )
        ).json()
        assert "correct" not in str(attempt) and "accepted_answers" not in str(attempt)
        answers = await answer_key(http, stack, post_test["assessment_id"], attempt["questions"])
        result = ok(
            await http.post(
                f"{urls['assessment']}/v1/attempts/{attempt['attempt_id']}/submit",
                headers=me,
                json={"answers": answers},
            )
        )
        assert result["passed"] is True and result["score"] == 100

        done = await eventually(
            lambda: http.get(
                f"{urls['enrollment']}/v1/enrollments/{enrollment['enrollment_id']}", headers=me
            ),
            lambda r: r.json()["status"] == "completed",
            timeout=30,
        )
        assert done.json()["post_test_score"] == 100

        report = await eventually(
            # the course's own counts: other journeys share the stack
            lambda: http.get(
                f"{urls['reporting']}/v1/reports/regions/74?course_id={course_id}", headers=admin
            ),
            lambda r: r.status_code == 200 and r.json()["totals"]["completed"] == 1,
            timeout=30,
        )
        kolaka = next(
            child for child in report.json()["children"] if child["region"]["code"] == "74.01"
        )
        assert kolaka["totals"]["completed"] == 1

        inbox = await eventually(
            lambda: http.get(f"{urls['notification']}/v1/inbox", headers=me),
            lambda r: r.status_code == 200 and len(r.json()["items"]) >= 1,
            timeout=30,
        )
        assert inbox.json()["unread_count"] >= 1

        certificates = ok(
            await http.get(
                f"{urls['enrollment']}/v1/enrollments/{enrollment['enrollment_id']}", headers=me
            )
        )
        await strangers_see_nothing(
            http,
            stack,
            {
                "learner_id": learner_id,
                "enrollment_id": enrollment["enrollment_id"],
                "attempt_id": attempt["attempt_id"],
                "course_id": course_id,
                "lesson_id": lesson_ids[0],
                "message_id": inbox.json()["items"][0]["message_id"],
            },
        )
        assert certificates["status"] == "completed"


async def strangers_see_nothing(http: httpx.AsyncClient, stack: Stack, ids: dict[str, str]) -> None:
    """Another learner, and a supervisor of another province, reach none of this learner's data."""
    urls = stack.urls
    other_learner = stack.auth("learner", learner_id=str(uuid.uuid4()))
    jawa_barat = stack.auth("supervisor", region="32")
    per_learner = [
        ("GET", f"{urls['enrollment']}/v1/learners/{ids['learner_id']}"),
        ("PATCH", f"{urls['enrollment']}/v1/learners/{ids['learner_id']}"),
        ("GET", f"{urls['enrollment']}/v1/enrollments/{ids['enrollment_id']}"),
        ("DELETE", f"{urls['enrollment']}/v1/enrollments/{ids['enrollment_id']}"),
        ("GET", f"{urls['assessment']}/v1/attempts/{ids['attempt_id']}"),
        ("POST", f"{urls['assessment']}/v1/attempts/{ids['attempt_id']}/submit"),
        ("GET", f"{urls['reporting']}/v1/reports/learners/{ids['learner_id']}"),
        ("GET", f"{urls['content']}/v1/courses/{ids['course_id']}/lessons/{ids['lesson_id']}"),
        ("POST", f"{urls['notification']}/v1/inbox/{ids['message_id']}/read"),
    ]
    per_region = [
        ("GET", f"{urls['reporting']}/v1/reports/regions/74"),
        ("GET", f"{urls['reporting']}/v1/reports/regions/74/export?format=csv"),
        ("GET", f"{urls['reporting']}/v1/reports/inactive?region_code=74"),
        ("GET", f"{urls['reporting']}/v1/reports/national"),
        ("GET", f"{urls['enrollment']}/v1/learners?region_code=74"),
    ]
    for headers in (other_learner, jawa_barat):
        for method, url in per_learner + per_region:
            body = (
                {"answers": []}
                if url.endswith("/submit")
                else ({"full_name": "Orang Lain"} if method == "PATCH" else None)
            )
            response = await http.request(method, url, headers=headers, json=body)
            assert response.status_code in (403, 404), (
                method,
                url,
                response.status_code,
                response.text[:200],
            )
            assert "Wa Ode Sitti" not in response.text and TOWUA not in response.text
    own_region = await http.get(f"{urls['enrollment']}/v1/learners", headers=jawa_barat)
    assert own_region.status_code == 200 and own_region.json()["items"] == []
    mine = await http.get(f"{urls['enrollment']}/v1/enrollments", headers=other_learner)
    assert mine.status_code == 200 and mine.json()["items"] == []
    inbox = await http.get(f"{urls['notification']}/v1/inbox", headers=other_learner)
    assert inbox.status_code == 200 and inbox.json()["items"] == []


def log_lines(stack: Stack, service: str) -> list[dict[str, Any]]:
    lines = []
    for line in (stack.log_dir / f"{service}.log").read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # uvicorn's own start lines
    return lines


async def test_an_operator_follows_a_registration_by_its_correlation_id(stack: Stack) -> None:
    """A regency operator registers an official in Towua with their own correlation id; the
    on-call engineer finds the request in the access log by that id (its route template, the
    caller as a pseudonym, no name or village), and every process's readiness and metrics
    show its consumer running and its lag. A forged correlation id (JSON and spaces) is
    replaced, never written into a log line."""
    urls = stack.urls
    async with httpx.AsyncClient(timeout=15) as http:
        registered = ok(
            await http.post(
                f"{urls['enrollment']}/v1/learners?email=la.ode@example.id",
                headers=stack.auth("admin") | {"X-Correlation-Id": "kolaka-ops-77"},
                json={
                    "full_name": "La Ode Rahman",
                    "position": "kaur_keuangan",
                    "village_code": TOWUA,
                },
            ),
            201,
        )
        forged = await http.get(
            f"{urls['enrollment']}/v1/learners/{registered['learner_id']}",
            headers=stack.auth("admin") | {"X-Correlation-Id": 'x", "level": "error'},
        )
        assert forged.status_code == 200
        fresh = forged.headers["x-correlation-id"]
        assert uuid.UUID(fresh)

        found = await eventually(
            lambda: http.get(f"{urls['enrollment']}/healthz"),
            lambda _: any(
                line.get("correlation_id") == fresh for line in log_lines(stack, "enrollment")
            ),
        )
        assert found.status_code == 200
        access = [x for x in log_lines(stack, "enrollment") if x["logger"] == "lms.access"]
        (line,) = [x for x in access if x.get("correlation_id") == "kolaka-ops-77"]
        assert line["route"] == "/v1/learners" and line["status"] == 201
        assert line["method"] == "POST" and len(line["principal"]) == 16
        text = (stack.log_dir / "enrollment.log").read_text()
        for personal in ("La Ode Rahman", "la.ode@example.id", TOWUA, registered["learner_id"]):
            assert personal not in text

        for service, url in urls.items():
            ready = (await http.get(f"{url}/readyz")).json()
            assert ready["checks"]["nats"] == "connected", service
            metrics = (await http.get(f"{url}/metrics")).text
            assert 'lms_check_ok{check="database"} 1.0' in metrics, service
            if "consumer" in ready["checks"]:
                consumer = await eventually(
                    lambda url=url: http.get(f"{url}/readyz"),
                    lambda r: r.json()["checks"]["consumer"]["state"] == "running",
                )
                assert set(consumer.json()["checks"]["consumer"]["server"]) == {
                    "pending",
                    "ack_pending",
                    "redelivered",
                }
                assert f'lms_consumer_pending_messages{{consumer="{service}"}}' in metrics
