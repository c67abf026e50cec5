"""An attacker's requests to content and reporting, each refused with nothing changed, and
what is served back made safe (docs/security.md lists the threats)."""

from __future__ import annotations

import uuid

import pytest
from nats.js import JetStreamContext

from servicekit.testing.services import RunningService

from .conftest import problem, signed, state

pytestmark = pytest.mark.integration


def course_body(title: str = "Pengelolaan Keuangan Desa") -> dict:
    lesson = {"title": "Siklus APBDes", "kind": "text", "body": "Isi.", "required": True}
    return {"code": "KEU-01", "title": title, "modules": [{"title": "APBDes", "lessons": [lesson]}]}


async def test_a_sync_of_100000_empty_items_is_refused_cheaply(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    before = await state(content, jetstream, "lesson_progress", "sync_receipts")
    me = content.auth("learner", learner_id=uuid.uuid4())
    body = b'{"items":[' + b",".join([b"{}"] * 100_000) + b"]}"
    assert len(body) < 310_000
    refused = await content.client.post(
        "/v1/progress/sync", content=body, headers=me | {"Content-Type": "application/json"}
    )
    problem(refused, 422, "items")
    assert len(refused.content) < 2_000  # one error, not one per item
    bad_id = {
        "items": [
            {
                "client_id": "a\x00b",
                "course_id": str(uuid.uuid4()),
                "lesson_id": str(uuid.uuid4()),
                "completed_at": "2026-08-17T08:00:00+08:00",
            }
        ]
    }
    problem(await content.client.post("/v1/progress/sync", json=bad_id, headers=me), 422)
    assert await state(content, jetstream, "lesson_progress", "sync_receipts") == before


async def test_course_texts_with_control_characters_are_refused(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    before = await state(content, jetstream, "courses")
    instructor = content.auth("instructor")
    refused = await content.client.post(
        "/v1/courses", json=course_body("Keuangan\x00Desa"), headers=instructor
    )
    problem(refused, 422, "title")
    assert await state(content, jetstream, "courses") == before


async def test_attachment_names_are_plain_and_uploads_are_served_inert(
    content: RunningService, jetstream: JetStreamContext
) -> None:
    instructor = content.auth("instructor")
    course = (
        await content.client.post("/v1/courses", json=course_body(), headers=instructor)
    ).json()
    url = f"/v1/courses/{course['course_id']}/attachments"
    before = await state(content, jetstream, "attachments")
    for name in ("..", ".", "../etc/passwd", "a\\b", "a\x00b", "a\nb"):
        refused = await content.client.post(
            url, params={"filename": name}, content=b"x", headers=instructor
        )
        problem(refused, 422, "filename")
    assert await state(content, jetstream, "attachments") == before
    page = b"<html><script>alert(document.cookie)</script></html>"
    uploaded = await content.client.post(
        url,
        params={"filename": "materi.html"},
        content=page,
        headers=instructor | {"Content-Type": "text/html"},
    )
    assert uploaded.status_code == 201, uploaded.text
    served = await content.client.get(
        f"{url}/{uploaded.json()['attachment_id']}", headers=instructor
    )
    assert served.content == page
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


async def test_the_dashboard_is_refused_to_bad_claims_and_served_with_security_headers(
    reporting: RunningService,
) -> None:
    for claims in (
        {"roles": ["supervisor"], "region": ""},
        {"roles": ["supervisor"], "region": "7"},
    ):
        problem(await reporting.client.get("/dashboard/regions/74", headers=signed(**claims)), 401)
        problem(await reporting.client.get("/v1/reports/regions/73", headers=signed(**claims)), 401)
    supervisor = reporting.auth("supervisor", region_code="74")
    problem(await reporting.client.get("/v1/reports/regions/73", headers=supervisor), 403)
    for name in ("cohort", "position"):
        asked = await reporting.client.get(
            "/v1/reports/regions/74", params={name: "a\x00b"}, headers=supervisor
        )
        problem(asked, 422, name)
    page = await reporting.client.get("/dashboard/regions/74", headers=supervisor)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
