"""Outcomes counted apart at every region level, on real PostgreSQL and NATS: completed,
post-test taken, passed, failed, certified, revoked, and the completion and pass rates, the
same in the JSON, the exports and the dashboard."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from nats.js import JetStreamContext

import lms_contracts as c
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service

from .test_dashboard import kpi, signed_in
from .test_reports import NOW, learner_story, publish_all, settled

pytestmark = pytest.mark.integration
OUTCOMES = ("enrolled", "completed", "post_test_taken", "passed", "failed", "certified")


@pytest.fixture
async def reporting(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("reporting", database_url, nats_url) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


def failed_post_test(story: list[c.EventData]) -> c.Failed:
    enrolled = story[1]
    assert isinstance(enrolled, c.Enrolled)
    return c.Failed(
        attempt_id=uuid.uuid4(),
        assessment_id=uuid.uuid4(),
        assessment_kind="post_test",
        learner_id=enrolled.learner_id,
        course_id=enrolled.course_id,
        village_code=enrolled.village_code,
        score=50,
        pass_score=70,
        attempt_number=1,
        graded_at=NOW - timedelta(hours=1),
    )


async def test_failed_and_rates_at_every_level_in_json_exports_and_dashboard(
    reporting: RunningService, jetstream: JetStreamContext
) -> None:
    course = uuid.uuid4()
    # learners 0 and 2 (Towua, Awuliti) pass and complete; 1 and 3 (Bende, Jawa Barat) do not
    stories = [learner_story(i, course, [uuid.uuid4()]) for i in range(4)]
    events = [d for story in stories for d in story]
    events += [failed_post_test(stories[1]), failed_post_test(stories[2])]  # 2 passes later
    await publish_all(jetstream, [c.new_event(d) for d in events])
    await settled(jetstream)
    admin = reporting.auth("admin")
    expected = {
        "": (4, 2, 3, 2, 1, 2),
        "74": (3, 2, 3, 2, 1, 2),
        "74.01": (2, 1, 2, 1, 1, 1),
        "74.01.01": (2, 1, 2, 1, 1, 1),
        "74.01.01.2007": (1, 0, 1, 0, 1, 0),
    }
    for code, counts in expected.items():
        url = f"/v1/reports/regions/{code}" if code else "/v1/reports/national"
        totals = (await reporting.client.get(url, headers=admin)).json()["totals"]
        assert tuple(totals[k] for k in OUTCOMES) == counts, code
        assert totals["completion_rate"] == round(100 * counts[1] / counts[0], 1)
        assert totals["pass_rate"] == round(100 * counts[3] / counts[2], 1)
        assert totals["revoked"] == 0
    province = (await reporting.client.get("/v1/reports/regions/74", headers=admin)).json()
    for key in ("failed", "post_test_taken", "revoked"):
        assert sum(x["totals"][key] for x in province["children"]) == province["totals"][key]

    exported = await reporting.client.get("/v1/reports/regions/74", headers=admin)
    rows = list(
        csv.DictReader(
            io.StringIO(
                (
                    await reporting.client.get("/v1/reports/regions/74/export", headers=admin)
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert (rows[0]["Tidak Lulus Post-test"], rows[0]["Ikut Post-test"]) == ("1", "3")
    # the sheet formatter writes rates as fractions in a CSV (0.00% in an XLSX)
    totals = exported.json()["totals"]
    assert rows[0]["Tingkat Penyelesaian"] == f"{totals['completed'] / totals['enrolled']:.4f}"
    assert rows[0]["Tingkat Kelulusan"] == "0.6667"  # 2 passed of the 3 who took it
    assert (rows[0]["Sertifikat Dicabut"], rows[0]["Mengundurkan Diri"]) == ("0", "0")
    await signed_in(reporting, reporting.token("supervisor", region_code="74"))
    page = (await reporting.client.get("/dashboard/regions/74")).text
    assert "<th>Tidak lulus post-test</th>" in page
    assert (kpi(page, "failed"), kpi(page, "post_test_taken")) == ("1", "3")
    assert kpi(page, "pass_rate") == "66,67%"
