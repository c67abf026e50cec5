"""Offline packages over a poor link: cut off anywhere and resumed to the same bytes, taken
lesson by lesson, updated by a delta, and within the course's size budget."""

import base64
import hashlib
import io
import json
import random
import uuid
import zipfile
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from servicekit.testing.services import RunningService
from servicekit.testing.waiting import eventually

from .conftest import course_body, enroll, publish, publish_course

pytestmark = pytest.mark.integration
# incompressible, as real media is; under the test cap of 64 KiB
DOCUMENT = random.Random(1).randbytes(51_200)
AUDIO = random.Random(2).randbytes(48_000)


async def upload(content: RunningService, course_id: str, name: str, data: bytes, kind: str) -> str:
    response = await content.client.post(
        f"/v1/courses/{course_id}/attachments?filename={name}",
        content=data,
        headers={**content.auth("instructor"), "Content-Type": kind},
    )
    assert response.status_code == 201, response.text
    return response.json()["attachment_id"]


async def course_with_media(content: RunningService) -> tuple[dict, dict[str, str]]:
    """A published course: two text lessons, an audio lesson and a document lesson."""
    instructor = content.auth("instructor")
    draft = (
        await content.client.post("/v1/courses", json=course_body(), headers=instructor)
    ).json()
    course_id = draft["course_id"]
    media = {
        "audio": await upload(content, course_id, "siaran.mp3", AUDIO, "audio/mpeg"),
        "pdf": await upload(
            content, course_id, "Permendagri 20-2018.pdf", DOCUMENT, "application/pdf"
        ),
    }
    body = course_body()
    body.pop("code")
    body["modules"][0]["lessons"] += [
        {"title": "Siaran radio desa", "kind": "audio", "attachment_id": media["audio"]},
        {"title": "Peraturan", "kind": "document", "attachment_id": media["pdf"]},
    ]
    revised = await content.client.put(f"/v1/courses/{course_id}", json=body, headers=instructor)
    assert revised.status_code == 200, revised.text
    assert revised.json()["content_bytes"] > len(AUDIO) + len(DOCUMENT)
    return await publish_course(content, course_id), media


def digest_of(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


async def cut_off_at(content: RunningService, url: str, headers: dict, offset: int) -> bytes:
    """Read a response until ``offset`` bytes have arrived, then drop it, as a lost signal
    does."""
    received = b""
    async with content.client.stream("GET", url, headers=headers) as response:
        assert response.status_code in (200, 206), response.status_code
        async for chunk in response.aiter_raw():
            received += chunk
            if len(received) >= offset:
                break
    return received[:offset]


async def test_a_package_cut_off_at_random_bytes_resumes_to_the_same_bytes(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, _ = await course_with_media(content)
    _, me, _ = await enroll(jetstream, content, course)
    url = f"/v1/courses/{course['course_id']}/package"

    head = await content.client.head(url, headers=me)
    assert head.status_code == 200 and head.content == b""
    size, etag = int(head.headers["content-length"]), head.headers["etag"]
    assert head.headers["accept-ranges"] == "bytes"
    assert size >= len(AUDIO) + len(DOCUMENT)

    chance = random.Random(23)
    for _ in range(3):
        offsets = sorted(chance.sample(range(1, size), 4))
        received = await cut_off_at(content, url, me, offsets[0])
        for offset in offsets[1:]:
            resume = {**me, "Range": f"bytes={len(received)}-", "If-Range": etag}
            received += await cut_off_at(content, url, resume, offset - len(received))
        last = await content.client.get(
            url, headers={**me, "Range": f"bytes={len(received)}-", "If-Range": etag}
        )
        assert last.status_code == 206
        assert last.headers["content-range"] == f"bytes {len(received)}-{size - 1}/{size}"
        received += last.content
        assert len(received) == size and last.headers["repr-digest"] == digest_of(received)

    whole = await content.client.get(url, headers=me)
    assert whole.content == received, "every download of a version is the same bytes"
    archive = zipfile.ZipFile(io.BytesIO(received))
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    for entry in manifest["files"]:
        data = archive.read(entry["path"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (
            entry["size_bytes"],
            entry["sha256"],
        )
    media_types = {e["media_type"] for e in manifest["files"] if "media_type" in e}
    assert media_types == {"audio/mpeg", "application/pdf"}


async def test_bad_ranges_and_validators_of_another_version_get_clear_answers(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, _ = await course_with_media(content)
    learner_id, me, enrolment = await enroll(jetstream, content, course)
    url = f"/v1/courses/{course['course_id']}/package"
    full = await content.client.get(url, headers=me)
    size, etag = len(full.content), full.headers["etag"]

    for header, code in [
        ("bytes=0-99,50-150", "ranges_overlap"),
        ("bytes=500-100", "range_malformed"),
        ("bytes=abc", "range_malformed"),
        (f"bytes={size}-", "range_not_satisfiable"),
    ]:
        refused = await content.client.get(url, headers={**me, "Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["code"] == code and refused.json()["errors"][0]["field"] == "Range"

    overlap = {**me, "Range": "bytes=0-99,50-150"}
    assert (await content.client.get(url, headers=overlap)).json()["detail"] == (
        "Rentang pada Range saling tumpang tindih; minta satu rentang saja."
    )
    english = await content.client.get(url, headers={**overlap, "Accept-Language": "en"})
    assert english.json()["detail"] == "Range: the ranges overlap; ask for one range."
    assert english.json()["errors"] == [{"field": "Range", "message": "the ranges overlap"}]
    several = await content.client.get(url, headers={**me, "Range": "bytes=0-9,20-29"})
    assert several.status_code == 200 and several.content == full.content
    assert (await content.client.get(url, headers={**me, "If-None-Match": etag})).status_code == 304

    # the author publishes version 2 and moves the learner onto it
    instructor = content.auth("instructor")
    body = course_body()
    body.pop("code")
    body["title"] = "Pengelolaan Keuangan Desa (2027)"
    await content.client.put(f"/v1/courses/{course['course_id']}", json=body, headers=instructor)
    await publish_course(content, course["course_id"])
    stale = {**me, "Range": "bytes=100-", "If-Range": etag}
    moved = c.CourseVersionChanged(
        enrollment_id=enrolment.enrollment_id,
        learner_id=learner_id,
        course_id=enrolment.course_id,
        course_title=enrolment.course_title,
        village_code=enrolment.village_code,
        from_version=1,
        course_version=2,
        move_number=1,
        changed_at=datetime.now(UTC),
    )
    await publish(jetstream, moved)
    fresh = await eventually(
        lambda: content.client.get(url, headers=stale),
        lambda r: r.status_code == 200 and r.headers["etag"] != etag,
    )
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag, "a new version, whole"
    assert fresh.headers["repr-digest"] == digest_of(fresh.content)
    strict = await content.client.get(url, headers={**me, "Range": "bytes=100-", "If-Match": etag})
    assert strict.status_code == 412 and strict.json()["code"] == "package_changed"
    assert strict.headers["etag"] == fresh.headers["etag"]


async def test_a_course_is_taken_lesson_by_lesson_each_with_its_own_media(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, media = await course_with_media(content)
    _, me, _ = await enroll(jetstream, content, course)
    base = f"/v1/courses/{course['course_id']}/lessons"
    audio_lesson = course["lesson_ids"][2]
    response = await content.client.get(f"{base}/{audio_lesson}/package", headers=me)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(
        [
            "manifest.json",
            f"lessons/{audio_lesson}.json",
            f"attachments/{media['audio']}/siaran.mp3",
        ]
    )
    assert archive.read(f"attachments/{media['audio']}/siaran.mp3") == AUDIO
    assert len(response.content) < len(AUDIO) + len(DOCUMENT)
    part = await content.client.get(
        f"{base}/{audio_lesson}/package", headers={**me, "Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and part.content == response.content[10:20]

    stranger = content.auth("learner", learner_id=uuid.uuid4())
    refused = await content.client.get(f"{base}/{audio_lesson}/package", headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "not_enrolled"
    unknown = await content.client.get(f"{base}/{uuid.uuid4()}/package", headers=me)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "lesson_id"


async def test_after_an_update_a_delta_carries_only_the_lessons_that_changed(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, _ = await course_with_media(content)
    instructor = content.auth("instructor")
    first, second, audio, document = course["lesson_ids"]
    v1 = await content.client.get(f"/v1/courses/{course['course_id']}", headers=instructor)
    lessons = v1.json()["modules"][0]["lessons"]
    kept = [{k: v for k, v in x.items() if v is not None} for x in lessons]
    kept[0]["body"] = "Isi pelajaran 1, diperbarui."
    kept = [kept[0], kept[2], kept[3]]  # the second lesson is dropped
    kept.append({"title": "Pelajaran baru", "kind": "text", "body": "Baru."})
    body = {"title": course["title"], "modules": [{"title": "APBDes", "lessons": kept}]}
    edited = await content.client.put(
        f"/v1/courses/{course['course_id']}", json=body, headers=instructor
    )
    assert edited.status_code == 200, edited.text
    v2 = await publish_course(content, course["course_id"])
    added = v2["lesson_ids"][-1]
    _, me, _ = await enroll(jetstream, content, v2)

    url = f"/v1/courses/{course['course_id']}/package?since=1"
    delta = await content.client.get(url, headers=me)
    assert delta.status_code == 200, delta.text
    archive = zipfile.ZipFile(io.BytesIO(delta.content))
    assert sorted(archive.namelist()) == sorted(
        ["manifest.json", f"lessons/{first}.json", f"lessons/{added}.json"]
    )
    scope = json.loads(archive.read("manifest.json"))["scope"]
    assert scope["kind"] == "delta" and scope["base_version"] == 1
    assert scope["removed_lesson_ids"] == [second]
    assert audio not in scope["lesson_ids"] and document not in scope["lesson_ids"]
    whole = await content.client.get(f"/v1/courses/{course['course_id']}/package", headers=me)
    assert len(delta.content) * 10 < len(whole.content)

    later = await content.client.get(f"{url.removesuffix('=1')}=3", headers=me)
    assert later.status_code == 422 and later.json()["errors"][0]["field"] == "since"


async def test_an_author_sees_the_course_size_and_cannot_publish_it_over_the_budget(
    content: RunningService,
) -> None:
    instructor = content.auth("instructor")
    draft = (
        await content.client.post("/v1/courses", json=course_body(), headers=instructor)
    ).json()
    budget = content.settings.course_budget_bytes
    assert draft["budget_bytes"] == budget and 0 < draft["content_bytes"] < 5000
    course_id = draft["course_id"]
    body = course_body()
    body.pop("code")
    for n in range(4):
        data = bytes([n]) * 60_000
        attachment_id = await upload(content, course_id, f"video-{n}.mp4", data, "video/mp4")
        body["modules"][0]["lessons"].append(
            {"title": f"Video {n}", "kind": "video", "attachment_id": attachment_id}
        )
    revised = await content.client.put(f"/v1/courses/{course_id}", json=body, headers=instructor)
    assert revised.json()["content_bytes"] > budget == revised.json()["budget_bytes"]
    refused = await content.client.post(f"/v1/courses/{course_id}/publish", headers=instructor)
    assert refused.status_code == 422 and refused.json()["code"] == "course_over_budget"
    assert refused.json()["content_bytes"] == revised.json()["content_bytes"]
    assert refused.json()["budget_bytes"] == budget


async def test_the_outline_travels_compressed_and_the_package_as_it_is(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course, _ = await course_with_media(content)
    _, me, _ = await enroll(jetstream, content, course)
    accept = {**me, "Accept-Encoding": "gzip, br, zstd"}
    outline = await content.client.get(f"/v1/courses/{course['course_id']}", headers=accept)
    assert outline.headers["content-encoding"] == "zstd"
    assert outline.json()["content_bytes"] == course["content_bytes"]
    package = await content.client.get(f"/v1/courses/{course['course_id']}/package", headers=accept)
    assert "content-encoding" not in package.headers
    assert package.num_bytes_downloaded == int(package.headers["content-length"])
