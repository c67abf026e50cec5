"""Authoring, publishing and versions over HTTP, with course-published observed on JetStream."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext

from content.dependencies import ContentDependencies
from servicekit.clock import ManualClock
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

from .conftest import course_body, create_course, enroll, events_of, publish_course

pytestmark = pytest.mark.integration


async def test_publishing_makes_an_immutable_version_and_emits_course_published(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    draft = await create_course(content)
    assert (draft["version"], draft["status"]) == (1, "draft")
    lesson_ids = [x["lesson_id"] for m in draft["modules"] for x in m["lessons"]]
    learner = content.auth("learner", learner_id=uuid.uuid4())
    catalog = await content.client.get("/v1/courses", headers=learner)
    assert catalog.json()["items"] == []

    published = await publish_course(content, draft["course_id"])
    assert (published["version"], published["status"]) == (1, "published")
    again = await content.client.post(
        f"/v1/courses/{draft['course_id']}/publish", headers=content.auth("instructor")
    )
    assert again.status_code == 409

    events = await eventually(
        lambda: events_of(jetstream, "lms.content.course-published.v1"), lambda f: len(f) == 1
    )
    data = events[0].data
    assert str(data.course_id) == draft["course_id"] and data.course_version == 1
    assert [str(x) for x in data.lesson_ids] == lesson_ids
    assert [str(x) for x in data.required_lesson_ids] == lesson_ids[:1]
    catalog = await content.client.get("/v1/courses", headers=learner)
    assert [x["course_id"] for x in catalog.json()["items"]] == [draft["course_id"]]


async def test_editing_a_published_course_starts_a_new_draft_and_learners_keep_their_version(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    course = await publish_course(content, (await create_course(content))["course_id"])
    course_id = course["course_id"]
    _, me, _ = await enroll(jetstream, content, course)
    kept = course["modules"][0]["lessons"][0]
    revision = course_body()
    revision.pop("code")
    revision["title"] = "Pengelolaan Keuangan Desa (2027)"
    revision["modules"][0]["lessons"] = [
        {**revision["modules"][0]["lessons"][0], "lesson_id": kept["lesson_id"]},
        {"title": "Pelajaran baru", "kind": "link", "url": "https://jdih.example.id/1"},
    ]
    instructor = content.auth("instructor")
    edited = await content.client.put(f"/v1/courses/{course_id}", json=revision, headers=instructor)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["status"]) == (2, "draft")
    again = await content.client.put(f"/v1/courses/{course_id}", json=revision, headers=instructor)
    assert again.json()["version"] == 2, "a draft is edited in place"

    v1 = await content.client.get(f"/v1/courses/{course_id}?version=1", headers=instructor)
    assert v1.json()["title"] == "Pengelolaan Keuangan Desa" and v1.json()["status"] == "published"
    await publish_course(content, course_id)
    mine = await content.client.get(f"/v1/courses/{course_id}", headers=me)
    assert mine.json()["version"] == 1, "the learner stays on the version they enrolled in"
    new_lesson = again.json()["modules"][0]["lessons"][1]["lesson_id"]
    read = await content.client.get(f"/v1/courses/{course_id}/lessons/{new_lesson}", headers=me)
    assert read.status_code == 404
    progress = await content.client.post(
        "/v1/progress", json={"course_id": course_id, "lesson_id": new_lesson}, headers=me
    )
    assert progress.status_code == 422, progress.text
    assert progress.json()["code"] == "lesson_not_in_version"

    foreign = {**revision}
    foreign["modules"] = [
        {
            "title": "X",
            "lessons": [{**revision["modules"][0]["lessons"][0], "lesson_id": str(uuid.uuid4())}],
        }
    ]
    refused = await content.client.put(f"/v1/courses/{course_id}", json=foreign, headers=instructor)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "lesson_id"


@pytest.mark.parametrize(
    ("lesson", "field"),
    [
        ({"title": "Video", "kind": "video"}, "modules.0.lessons.0.attachment_id"),
        ({"title": "Tautan", "kind": "link"}, "modules.0.lessons.0.url"),
        ({"title": "Teks", "kind": "text"}, "modules.0.lessons.0.body"),
        ({"title": "Teks", "kind": "podcast", "body": "x"}, "modules.0.lessons.0.kind"),
        ({"title": "", "kind": "text", "body": "x"}, "modules.0.lessons.0.title"),
    ],
)
async def test_bad_course_input_gets_a_problem_naming_the_field(
    content: RunningService, lesson: dict, field: str
) -> None:
    body = course_body()
    body["modules"][0]["lessons"] = [lesson]
    response = await content.client.post(
        "/v1/courses", json=body, headers=content.auth("instructor")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_only_instructors_and_admins_author_and_a_code_is_taken_once(
    content: RunningService,
) -> None:
    learner = content.auth("learner", learner_id=uuid.uuid4())
    assert (
        await content.client.post("/v1/courses", json=course_body(), headers=learner)
    ).status_code == 403
    assert (await content.client.get("/v1/courses")).status_code == 401
    await create_course(content)
    dup = await content.client.post(
        "/v1/courses", json=course_body(), headers=content.auth("admin")
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "code"


async def test_versions_are_dated_by_the_clock_the_service_is_given(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> None:
    clock = ManualClock(datetime(2026, 11, 1, 8, tzinfo=UTC))
    deps = ContentDependencies(clock=clock)
    async with running_service("content", database_url, nats_url, deps=deps) as content:
        draft = await create_course(content)
        clock.advance(timedelta(hours=1))
        published = await publish_course(content, draft["course_id"])
    assert datetime.fromisoformat(draft["created_at"]) == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert datetime.fromisoformat(published["published_at"]) == clock.now


async def test_a_taken_code_is_told_in_indonesian_or_english(
    content: RunningService,
) -> None:
    """An author sees the code they asked for in a sentence of their language; the machine
    code is the same in both. (A missing version of a move is enrollment's to tell.)"""
    course = await create_course(content, course_body(code="KEU-74"))
    await publish_course(content, course["course_id"])
    author = content.auth("instructor")
    answers: dict[str, list[dict]] = {}
    for language in ("id-ID", "en"):
        headers = {**author, "Accept-Language": language}
        taken = await content.client.post(
            "/v1/courses", json=course_body(code="KEU-74"), headers=headers
        )
        assert taken.status_code == 409
        assert taken.json()["code"] == "course_code_taken"
        assert taken.headers["content-language"] == language[:2]
        answers[language[:2]] = taken.json()["errors"]
    assert answers == {
        "id": [{"field": "code", "message": "sudah ada pelatihan dengan kode KEU-74"}],
        "en": [{"field": "code", "message": "a course with code KEU-74 exists"}],
    }
    listed = await content.client.get("/v1/courses", headers=author)
    assert [c["code"] for c in listed.json()["items"]] == ["KEU-74"]
