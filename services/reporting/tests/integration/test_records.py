"""What a gateway shows from reporting: a course's own learners, withdrawals in exports as in
the JSON, and a learner's record with progress in their version and their certificate's
links from the deployment's public address."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service

from .test_exports import sheet_of, table
from .test_reports import NOW, learner_story, publish_all, settled

pytestmark = pytest.mark.integration
PUBLIC = "https://lms.example.go.id"


@pytest.fixture
async def reporting(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service(
        "reporting", database_url, nats_url, public_base_url=PUBLIC
    ) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


def version(course: uuid.UUID, number: int, lessons: list[uuid.UUID]) -> c.CoursePublished:
    return c.CoursePublished(
        course_id=course,
        course_version=number,
        code="KEU",
        title="Keuangan",
        lesson_ids=lessons,
        required_lesson_ids=lessons,
        published_at=NOW,
    )


def withdrawal(story: list[c.EventData]) -> c.Withdrawn:
    enrolled = story[1]
    assert isinstance(enrolled, c.Enrolled)
    return c.Withdrawn(
        enrollment_id=enrolled.enrollment_id,
        learner_id=enrolled.learner_id,
        course_id=enrolled.course_id,
        course_title=enrolled.course_title,
        village_code=enrolled.village_code,
        withdrawn_at=NOW + timedelta(hours=1),
    )


async def test_a_course_counts_its_own_learners_and_exports_show_withdrawals(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course, other = uuid.uuid4(), uuid.uuid4()
    stories = [learner_story(i, course, [uuid.uuid4()]) for i in range(4)]
    elsewhere = learner_story(4, other, [uuid.uuid4()])
    events = [d for story in [*stories, elsewhere] for d in story]
    events += [version(course, 1, []), version(other, 1, []), withdrawal(stories[1])]
    await publish_all(jetstream, [c.new_event(d) for d in events])
    await settled(jetstream)
    admin = reporting.auth("admin")
    report = (await reporting.client.get(f"/v1/reports/courses/{course}", headers=admin)).json()
    assert {k: report["totals"][k] for k in ("registered", "enrolled", "withdrawn")} == {
        "registered": 4,  # the course's learners, withdrawn or not; not the 5 registered
        "enrolled": 3,
        "withdrawn": 1,
    }
    region = (await reporting.client.get("/v1/reports/regions/74", headers=admin)).json()
    exported = await reporting.client.get("/v1/reports/regions/74/export", headers=admin)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0]["Mengundurkan Diri"] == str(region["totals"]["withdrawn"]) == "1"


async def test_a_learner_record_shows_progress_in_their_version_and_certificate_links(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course, kept, dropped, added = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    story = learner_story(0, course, [kept, dropped])  # completes, certificate "C0"
    enrolled = story[1]
    assert isinstance(enrolled, c.Enrolled)
    moved = c.CourseVersionChanged(
        enrollment_id=enrolled.enrollment_id,
        learner_id=enrolled.learner_id,
        course_id=course,
        course_title="Keuangan",
        village_code=enrolled.village_code,
        from_version=1,
        course_version=2,
        move_number=1,
        changed_at=datetime.now(UTC),
    )
    published = [version(course, 1, [kept, dropped]), version(course, 2, [kept, added])]
    await publish_all(jetstream, [c.new_event(d) for d in [*story, *published, moved]])
    await settled(jetstream)
    learner_id = enrolled.learner_id
    me = reporting.auth("learner", learner_id=learner_id)
    record = (await reporting.client.get(f"/v1/reports/learners/{learner_id}", headers=me)).json()
    (row,) = record["enrollments"]
    assert (row["course_version"], row["lessons_done"], row["lessons"], row["progress"]) == (
        2,
        1,  # the dropped lesson no longer counts
        2,
        50.0,
    )
    admin = reporting.auth("admin")
    exported = await reporting.client.get(
        f"/v1/reports/regions/{enrolled.village_code}/learners/export",
        params={"format": "xlsx"},
        headers=admin,
    )
    (official,) = table(sheet_of(exported.content), 6)
    # the spreadsheet counts as the record does: lessons of the version followed
    assert (official["Materi Selesai"], official["Kemajuan"]) == (1, 0.5)
    assert row["certificate"] == {
        "verification_code": "C0",
        "verify_url": f"{PUBLIC}/v1/certificates/C0",
        "pdf_url": f"{PUBLIC}/v1/certificates/C0/pdf",
    }
