"""The story of issue 19 across the five service processes: an admin moves learner L2 to
version 2 of a course, which adds the required lesson "Perubahan Permendagri 2027". The
post-test stays locked and no certificate is issued until L2 has done that lesson, while L1,
left on version 1, completes on version 1's rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from servicekit.testing.waiting import eventually

from .conftest import Stack, answer_key, ok

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
BENDE, AWULITI = "74.01.01.2007", "74.02.01.2006"  # Kolaka and Konawe, Sulawesi Tenggara
NEW_LESSON = "Perubahan Permendagri 2027"


def lessons(*titles: str) -> list[dict[str, Any]]:
    return [{"title": t, "kind": "text", "body": f"Materi {t}", "required": True} for t in titles]


async def publish_version_1(http: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    instructor = stack.auth("instructor")
    course = ok(
        await http.post(
            f"{stack.urls['content']}/v1/courses",
            headers=instructor,
            json={
                "code": "ADM-2027",
                "title": "Administrasi Pemerintahan Desa",
                "modules": [
                    {
                        "title": "Dasar",
                        "lessons": lessons("Kewenangan Desa", "Musyawarah Desa", "Perdes"),
                    }
                ],
            },
        ),
        201,
    )
    ok(
        await http.post(
            f"{stack.urls['content']}/v1/courses/{course['course_id']}/publish", headers=instructor
        )
    )
    return course


async def publish_version_2(
    http: httpx.AsyncClient, stack: Stack, course: dict[str, Any]
) -> dict[str, Any]:
    """Version 2 keeps the three lessons (their ids, so progress on them counts) and adds one."""
    kept = [
        {"lesson_id": x["lesson_id"], "title": x["title"], "kind": "text", "body": "Materi"}
        for x in course["modules"][0]["lessons"]
    ]
    url = f"{stack.urls['content']}/v1/courses/{course['course_id']}"
    instructor = stack.auth("instructor")
    draft = ok(
        await http.put(
            url,
            headers=instructor,
            json={
                "title": course["title"],
                "modules": [{"title": "Dasar", "lessons": [*kept, *lessons(NEW_LESSON)]}],
            },
        )
    )
    assert draft["version"] == 2
    return ok(await http.post(f"{url}/publish", headers=instructor))


async def post_test(http: httpx.AsyncClient, stack: Stack, course_id: str) -> dict[str, Any]:
    return ok(
        await http.post(
            f"{stack.urls['assessment']}/v1/assessments",
            headers=stack.auth("instructor"),
            json={
                "course_id": course_id,
                "kind": "post_test",
                "title": "Post-test Administrasi Desa",
                "pass_score": 70,
                "max_attempts": 2,
                "questions": [
                    {
                        "kind": "true_false",
                        "prompt": "Peraturan desa ditetapkan kepala desa bersama BPD.",
                        "answer": True,
                    }
                ],
            },
        ),
        201,
    )


async def enrolled_learner(
    http: httpx.AsyncClient, stack: Stack, course_id: str, name: str, village: str
) -> tuple[str, str]:
    admin = stack.auth("admin")
    learner = ok(
        await http.post(
            f"{stack.urls['enrollment']}/v1/learners",
            headers=admin,
            json={"full_name": name, "position": "kepala_desa", "village_code": village},
        ),
        201,
    )
    enrollment = ok(
        await http.post(
            f"{stack.urls['enrollment']}/v1/enrollments",
            headers=admin,
            json={"learner_id": learner["learner_id"], "course_id": course_id},
        ),
        201,
    )
    assert enrollment["course_version"] == 1
    return learner["learner_id"], enrollment["enrollment_id"]


async def complete(
    http: httpx.AsyncClient, stack: Stack, learner_id: str, course_id: str, lesson_id: str
) -> httpx.Response:
    return await http.post(
        f"{stack.urls['content']}/v1/progress",
        headers=stack.auth("learner", learner_id=learner_id),
        json={"course_id": course_id, "lesson_id": lesson_id},
    )


async def pass_post_test(
    http: httpx.AsyncClient, stack: Stack, learner_id: str, assessment_id: str
) -> None:
    me = stack.auth("learner", learner_id=learner_id)
    attempt = (
        await eventually(
            lambda: http.post(
                f"{stack.urls['assessment']}/v1/assessments/{assessment_id}/attempts", headers=me
            ),
            lambda r: r.status_code == 201,
        )
    ).json()
    answers = await answer_key(http, stack, assessment_id, attempt["questions"])
    result = ok(
        await http.post(
            f"{stack.urls['assessment']}/v1/attempts/{attempt['attempt_id']}/submit",
            headers=me,
            json={"answers": answers},
        )
    )
    assert result["passed"] is True


async def test_a_moved_learner_gets_no_post_test_and_no_certificate_before_the_new_lesson(
    stack: Stack,
) -> None:
    urls, admin = stack.urls, stack.auth("admin")
    async with httpx.AsyncClient(timeout=15) as http:
        course = await publish_version_1(http, stack)
        course_id = course["course_id"]
        v1_lessons = [x["lesson_id"] for x in course["modules"][0]["lessons"]]
        test = await post_test(http, stack, course_id)
        # a corrected post-test is the next version of this one, never a second one beside it
        beside = await http.post(
            f"{urls['assessment']}/v1/assessments",
            headers=stack.auth("instructor"),
            json={
                "course_id": course_id,
                "kind": "post_test",
                "title": "Post-test (koreksi)",
                "questions": [{"kind": "true_false", "prompt": "BPD ikut musdes.", "answer": True}],
            },
        )
        assert (beside.status_code, beside.json()["assessment_id"]) == (409, test["assessment_id"])
        await eventually(
            lambda: http.get(f"{urls['enrollment']}/v1/catalog", headers=admin),
            lambda r: any(c["course_id"] == course_id for c in r.json()),
        )
        l1, l1_enrollment = await enrolled_learner(http, stack, course_id, "Wa Ode Sitti", BENDE)
        l2, l2_enrollment = await enrolled_learner(http, stack, course_id, "La Ode Hamid", AWULITI)

        v2 = await publish_version_2(http, stack, course)
        new_lesson = next(
            x["lesson_id"] for x in v2["modules"][0]["lessons"] if x["title"] == NEW_LESSON
        )
        move = f"{urls['enrollment']}/v1/courses/{course_id}/learners/{l2}/version"
        # version 2 reaches enrollment as an event; until then it is unknown there
        moved = await eventually(
            lambda: http.put(move, headers=admin, json={"version": 2}),
            lambda r: r.status_code == 200,
        )
        assert moved.json()["course_version"] == 2
        await attackers_and_mistakes_change_nothing(http, stack, move, l2)

        # L2 does the three lessons of version 1; content knows the move, and they count
        for lesson_id in v1_lessons:
            await eventually(
                lambda lesson_id=lesson_id: complete(http, stack, l2, course_id, lesson_id),
                lambda r: r.status_code in (200, 201),
            )
        me = stack.auth("learner", learner_id=l2)
        start = f"{urls['assessment']}/v1/assessments/{test['assessment_id']}/attempts"
        locked = await eventually(
            lambda: http.post(start, headers=me),
            lambda r: r.status_code == 409 and r.json().get("missing_lessons") == 1,
        )
        assert locked.json()["code"] == "post_test_locked"
        assert [x["title"] for x in locked.json()["missing"]] == [NEW_LESSON]
        assert NEW_LESSON in locked.json()["explanation"]
        enrollment = ok(
            await http.get(f"{urls['enrollment']}/v1/enrollments/{l2_enrollment}", headers=me)
        )
        assert (enrollment["status"], enrollment["course_version"]) == ("in_progress", 2)
        assert enrollment["lessons_completed"] == 3
        assert enrollment["completion"]["missing_lessons"] == 1
        assert enrollment["completion"]["explanation"] == (
            f'Materi wajib yang belum selesai (1): "{NEW_LESSON}". Lulus post-test.'
        )

        # the new lesson opens the post-test, and passing it completes version 2
        await eventually(
            lambda: complete(http, stack, l2, course_id, new_lesson),
            lambda r: r.status_code == 201,
        )
        await pass_post_test(http, stack, l2, test["assessment_id"])
        done = await eventually(
            lambda: http.get(f"{urls['enrollment']}/v1/enrollments/{l2_enrollment}", headers=me),
            lambda r: r.json()["status"] == "completed",
            timeout=30,
        )
        assert (done.json()["course_version"], done.json()["lessons_completed"]) == (2, 4)
        certificate = done.json()["certificate"]
        # the link leads to this stack's own verification page, on whatever port it runs
        assert certificate["verify_url"].startswith(urls["enrollment"])
        verified = ok(await http.get(certificate["verify_url"]))
        assert (verified["valid"], verified["full_name"]) == (True, "La Ode Hamid")
        listed = ok(
            await http.get(f"{urls['enrollment']}/v1/enrollments?learner_id={l2}", headers=me)
        )
        assert listed["items"][0]["certificate"] == certificate
        assert listed["items"][0]["lessons_completed"] == 4

        # L1 stays on version 1: the new lesson is not theirs, and version 1's rules complete
        refused = await complete(http, stack, l1, course_id, new_lesson)
        assert refused.status_code == 422 and refused.json()["code"] == "lesson_not_in_version"
        for lesson_id in v1_lessons:
            ok(await complete(http, stack, l1, course_id, lesson_id))
        await pass_post_test(http, stack, l1, test["assessment_id"])
        l1_done = await eventually(
            lambda: http.get(
                f"{urls['enrollment']}/v1/enrollments/{l1_enrollment}",
                headers=stack.auth("learner", learner_id=l1),
            ),
            lambda r: r.json()["status"] == "completed",
            timeout=30,
        )
        await revoke_and_count(http, stack, course_id, l1, l1_done.json()["certificate"])

        report = await eventually(
            lambda: http.get(f"{urls['reporting']}/v1/reports/learners/{l2}", headers=admin),
            lambda r: r.status_code == 200
            and r.json()["enrollments"]
            and r.json()["enrollments"][0]["certified"],
            timeout=30,
        )
        reported = report.json()["enrollments"][0]
        assert (reported["course_version"], reported["lessons_done"], reported["lessons"]) == (
            2,
            4,
            4,
        )
        assert reported["certificate"]["verify_url"] == certificate["verify_url"]
        inbox = await eventually(
            lambda: http.get(f"{urls['notification']}/v1/inbox", headers=me),
            lambda r: any("versi 2" in m["title"] for m in r.json()["items"]),
        )
        assert sum("versi 2" in m["title"] for m in inbox.json()["items"]) == 1


async def revoke_and_count(
    http: httpx.AsyncClient, stack: Stack, course_id: str, learner_id: str, certificate: Any
) -> None:
    """An admin revokes L1's certificate: verifying it says so, the course report counts it
    apart from the certificates that hold, and L1 is told; revoking twice is refused."""
    urls, admin = stack.urls, stack.auth("admin")
    revoke = f"{certificate['verify_url']}/revoke"
    reason = {"reason": "Identitas peserta tidak sesuai"}
    ok(await http.post(revoke, headers=admin, json=reason))
    twice = await http.post(revoke, headers=admin, json=reason)
    assert (twice.status_code, twice.json()["errors"][0]["field"]) == (409, "code")
    page = await http.get(certificate["verify_url"], headers={"Accept": "text/html"})
    assert "SERTIFIKAT DICABUT" in page.text
    course = await eventually(
        lambda: http.get(f"{urls['reporting']}/v1/reports/courses/{course_id}", headers=admin),
        lambda r: r.json()["totals"]["revoked"] == 1,
        timeout=30,
    )
    totals = course.json()["totals"]
    assert (totals["registered"], totals["completed"], totals["certified"]) == (2, 2, 1)
    assert (totals["post_test_taken"], totals["passed"], totals["failed"]) == (2, 2, 0)
    await eventually(
        lambda: http.get(
            f"{urls['notification']}/v1/inbox", headers=stack.auth("learner", learner_id=learner_id)
        ),
        lambda r: any(m["title"].endswith("dicabut") for m in r.json()["items"]),
    )


async def attackers_and_mistakes_change_nothing(
    http: httpx.AsyncClient, stack: Stack, move: str, learner_id: str
) -> None:
    """Unknown versions, strangers and learners get a problem naming the field; a repeat of
    the move is no second move."""
    admin = stack.auth("admin")
    unknown = await http.put(move, headers=admin, json={"version": 9})
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "version")
    silly = await http.put(move, headers=admin, json={"version": "dua"})
    assert (silly.status_code, silly.json()["errors"][0]["field"]) == (422, "version")
    stranger = move.replace(learner_id, str(uuid.uuid4()))
    nobody = await http.put(stranger, headers=admin, json={"version": 2})
    assert (nobody.status_code, nobody.json()["errors"][0]["field"]) == (422, "learner_id")
    own = await http.put(
        move, headers=stack.auth("learner", learner_id=learner_id), json={"version": 1}
    )
    assert own.status_code == 403
    again = await http.put(move, headers=admin, json={"version": 2})
    assert again.status_code == 200 and again.json()["course_version"] == 2
