"""Attachments, the offline package round trip and progress synced from devices."""

import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import TOWUA, course_body, enroll, events_of, publish, publish_course

pytestmark = pytest.mark.integration
DOCUMENT = bytes(range(256)) * 200  # 51,200 bytes: under the test cap of 64 KiB


async def course_with_document(content: RunningService) -> tuple[dict, dict]:
    """A draft is created first so that the document can be attached to it."""
    instructor = content.auth("instructor")
    draft = (
        await content.client.post("/v1/courses", json=course_body(), headers=instructor)
    ).json()
    upload = await content.client.post(
        f"/v1/courses/{draft['course_id']}/attachments?filename=Permendagri 20-2018.pdf",
        content=DOCUMENT,
        headers={**instructor, "Content-Type": "application/pdf"},
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()
    body = course_body()
    body.pop("code")
    body["modules"][0]["lessons"].append(
        {"title": "Peraturan", "kind": "document", "attachment_id": attachment["attachment_id"]}
    )
    revised = await content.client.put(
        f"/v1/courses/{draft['course_id']}", json=body, headers=instructor
    )
    assert revised.status_code == 200, revised.text
    return await publish_course(content, draft["course_id"]), attachment


async def test_documents_download_with_ranges_and_etags_for_enrolled_learners_only(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, attachment = await course_with_document(content)
    assert attachment["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    path = f"/v1/courses/{course['course_id']}/attachments/{attachment['attachment_id']}"
    stranger = content.auth("learner", learner_id=uuid.uuid4())
    assert (await content.client.get(path, headers=stranger)).status_code == 403
    _, me, _ = await enroll(jetstream, content, course)

    full = await content.client.get(path, headers=me)
    assert full.status_code == 200 and full.content == DOCUMENT
    assert (
        full.headers["accept-ranges"] == "bytes"
        and full.headers["content-type"] == "application/pdf"
    )
    etag = full.headers["etag"]
    unchanged = await content.client.get(path, headers={**me, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""

    part = await content.client.get(path, headers={**me, "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == DOCUMENT[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(DOCUMENT)}"
    resume = await content.client.get(path, headers={**me, "Range": "bytes=50000-"})
    assert resume.content == DOCUMENT[50000:]
    tail = await content.client.get(path, headers={**me, "Range": "bytes=-10"})
    assert tail.content == DOCUMENT[-10:]
    stale = await content.client.get(
        path, headers={**me, "Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert stale.status_code == 200 and stale.content == DOCUMENT
    beyond = await content.client.get(path, headers={**me, "Range": "bytes=999999-"})
    assert (
        beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(DOCUMENT)}"
    )


async def test_uploads_over_the_cap_are_refused_with_a_problem(content: RunningService) -> None:
    instructor = content.auth("instructor")
    draft = (
        await content.client.post("/v1/courses", json=course_body(), headers=instructor)
    ).json()
    url = f"/v1/courses/{draft['course_id']}/attachments?filename=besar.pdf"
    too_big = await content.client.post(url, content=b"x" * (64 * 1024 + 1), headers=instructor)
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the cap holds while the body streams in
        for _ in range(70):
            yield b"x" * 1024

    streamed = await content.client.post(url, content=chunks(), headers=instructor)
    assert streamed.status_code == 413
    learner = content.auth("learner", learner_id=uuid.uuid4())
    assert (await content.client.post(url, content=b"x", headers=learner)).status_code == 403
    unknown = f"/v1/courses/{uuid.uuid4()}/attachments?filename=a.pdf"
    assert (await content.client.post(unknown, content=b"x", headers=instructor)).status_code == 404


async def test_an_offline_package_round_trip_from_download_to_synced_progress(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, attachment = await course_with_document(content)
    learner_id, me, _ = await enroll(jetstream, content, course)
    url = f"/v1/courses/{course['course_id']}/package"
    response = await content.client.get(url, headers=me)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["x-package-sha256"] == hashlib.sha256(response.content).hexdigest()
    again = await content.client.get(url, headers=me)
    assert again.content == response.content, "the same version always packs the same bytes"
    unchanged = await content.client.get(
        url, headers={**me, "If-None-Match": response.headers["etag"]}
    )
    assert unchanged.status_code == 304

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["course_id"], manifest["version"]) == (course["course_id"], 1)
    for entry in manifest["files"]:
        data = archive.read(entry["path"])
        assert (
            hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size_bytes"]
        )
    document = f"attachments/{attachment['attachment_id']}/Permendagri 20-2018.pdf"
    assert archive.read(document) == DOCUMENT
    lesson_ids = [x["lesson_id"] for m in manifest["modules"] for x in m["lessons"]]
    lesson = json.loads(archive.read(f"lessons/{lesson_ids[0]}.json"))
    assert lesson["body"] == "Isi pelajaran 1."

    before = (await content.client.get(f"/v1/courses/{course['course_id']}", headers=me)).json()
    assert before["progress"]["remaining_lesson_ids"] == lesson_ids
    assert before["progress"]["remaining_required_lesson_ids"] == course["required_lesson_ids"]
    assert {x["completed_at"] for m in before["modules"] for x in m["lessons"]} == {None}

    # on the device, days later and without signal
    done_at = datetime.now(UTC) - timedelta(days=3)
    items = [
        {
            "client_id": f"hp-{n}",
            "course_id": course["course_id"],
            "lesson_id": lesson_id,
            "completed_at": (done_at + timedelta(minutes=n)).isoformat(),
        }
        for n, lesson_id in enumerate(lesson_ids)
    ]
    synced = await content.client.post("/v1/progress/sync", json={"items": items}, headers=me)
    assert synced.status_code == 200, synced.text
    assert synced.json()["recorded"] == len(lesson_ids)
    completed = await eventually(
        lambda: events_of(jetstream, "lms.content.lesson-completed.v1"),
        lambda f: len(f) == len(lesson_ids),
    )
    first = next(e.data for e in completed if str(e.data.lesson_id) == lesson_ids[0])
    assert first.offline is True and first.completed_at == done_at
    assert first.learner_id == learner_id and first.village_code == TOWUA
    mine = await content.client.get(f"/v1/progress?course_id={course['course_id']}", headers=me)
    assert {x["lesson_id"] for x in mine.json()["lessons"]} == set(lesson_ids)
    outline = (await content.client.get(f"/v1/courses/{course['course_id']}", headers=me)).json()
    done = {x["lesson_id"]: x["completed_at"] for m in outline["modules"] for x in m["lessons"]}
    assert done[lesson_ids[1]] == (done_at + timedelta(minutes=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert outline["progress"] == {
        "completed": len(lesson_ids),
        "remaining_lesson_ids": [],
        "remaining_required_lesson_ids": [],
    }


async def test_a_sync_batch_applies_each_client_id_once_and_accepts_late_items(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course = await publish_course(
        content,
        (
            await content.client.post(
                "/v1/courses", json=course_body(lessons=4), headers=content.auth("admin")
            )
        ).json()["course_id"],
    )
    learner_id, me, enrollment = await enroll(jetstream, content, course)
    course_id, (l1, l2, l3, l4) = course["course_id"], course["lesson_ids"]
    online = await content.client.post(
        "/v1/progress", json={"course_id": course_id, "lesson_id": l1}, headers=me
    )
    assert online.status_code == 201
    week_ago = datetime.now(UTC) - timedelta(days=7)

    def item(client_id: str, lesson_id: str, at: datetime, course: str = course_id) -> dict:
        return {
            "client_id": client_id,
            "course_id": course,
            "lesson_id": lesson_id,
            "completed_at": at.isoformat(),
        }

    batch = [
        item("a", l2, week_ago),
        item("a", l2, week_ago),  # the device sent it twice
        item("b", l1, week_ago),  # already recorded online
        item("c", l3, week_ago + timedelta(hours=1)),
        item("d", l3, week_ago),  # the same lesson, earlier: the first completion counts
        item("e", str(uuid.uuid4()), week_ago),
        item("f", l2, datetime.now(UTC) + timedelta(days=1)),
        item("g", l2, week_ago, course=str(uuid.uuid4())),
    ]
    first = await content.client.post("/v1/progress/sync", json={"items": batch}, headers=me)
    assert first.status_code == 200, first.text
    statuses = [(x["client_id"], x["status"], x["code"]) for x in first.json()["items"]]
    assert statuses == [
        ("a", "recorded", None),
        ("a", "duplicate", None),
        ("b", "already_recorded", None),
        ("c", "already_recorded", None),
        ("d", "recorded", None),
        ("e", "rejected", "lesson_not_in_version"),
        ("f", "rejected", "completed_at_in_future"),
        ("g", "rejected", "unknown_course"),
    ]
    details = {x["client_id"]: x["detail"] for x in first.json()["items"]}
    assert details["f"] == "Waktu selesai (completed_at) lebih lambat dari jam server."
    assert details["g"] == "Tidak ada pelatihan dengan id ini."
    replay = await content.client.post("/v1/progress/sync", json={"items": batch[:5]}, headers=me)
    assert {x["status"] for x in replay.json()["items"]} == {"duplicate"}

    await publish(
        jetstream,
        c.Withdrawn(
            enrollment_id=enrollment.enrollment_id,
            learner_id=learner_id,
            course_id=uuid.UUID(course_id),
            course_title=course["title"],
            village_code=TOWUA,
            withdrawn_at=datetime.now(UTC),
        ),
    )
    await eventually(
        lambda: content.client.get(f"/v1/courses/{course_id}/lessons/{l1}", headers=me),
        lambda r: r.status_code == 403,
    )
    late = await content.client.post(
        "/v1/progress/sync",
        json={"items": [item("h", l4, week_ago), item("i", l2, datetime.now(UTC))]},
        headers=me,
    )
    assert [(x["client_id"], x["status"], x["code"]) for x in late.json()["items"]] == [
        ("h", "recorded", None),  # completed while enrolled, synced after the withdrawal
        ("i", "rejected", "not_enrolled"),
    ]

    completed = await eventually(
        lambda: events_of(jetstream, "lms.content.lesson-completed.v1"), lambda f: len(f) == 4
    )
    by_lesson = {str(e.data.lesson_id): e.data for e in completed}
    assert by_lesson[l3].completed_at == week_ago and by_lesson[l3].offline is True
    assert by_lesson[l1].offline is False

    too_many = [item(f"x{n}", l2, week_ago) for n in range(21)]
    refused = await content.client.post("/v1/progress/sync", json={"items": too_many}, headers=me)
    assert refused.status_code == 413 and refused.json()["errors"][0]["field"] == "items"
    naive = await content.client.post(
        "/v1/progress/sync",
        json={"items": [{**item("y", l2, week_ago), "completed_at": "2026-11-01T10:00:00"}]},
        headers=me,
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "items.0.completed_at"
