"""Every answer of enrollment that shows someone else's phone or e-mail puts a
learner-contacts-viewed event in the outbox in the transaction that reads them (UU PDP No.
27/2022, ADR 22): the list, one learner, a registration's and a change's answer, a replayed
registration. A learner reading themself, an answer without contact and a refused read write
nothing. Real PostgreSQL and NATS."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select, text

from enrollment.store.tables import outbox
from servicekit.testing.services import RunningService, running_service
from servicekit.testing.waiting import eventually

pytestmark = pytest.mark.integration
TOWUA, LAMBUYA = "74.01.01.2006", "74.02.01.1001"  # Kolaka and Konawe, Sulawesi Tenggara
VIEWED = "lms.enrollment.learner-contacts-viewed.v1"


@pytest.fixture
async def enrollment(
    database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    async with running_service("enrollment", database_url, nats_url) as service:
        yield service


def admin(service: RunningService) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.token('admin', subject='admin-pusat')}"}


async def reads(service: RunningService) -> list[dict[str, Any]]:
    """The contact reads in the outbox, oldest first: what each one says."""
    async with service.runtime.database.read() as conn:
        rows = await conn.execute(
            select(outbox.c.subject, outbox.c.payload)
            .where(outbox.c.event_type == VIEWED)
            .order_by(outbox.c.created_at)
        )
        found = []
        for subject, payload in rows:
            assert subject == VIEWED, "no region in the subject"
            found.append(json.loads(payload)["data"])
        return found


async def register(service: RunningService, name: str, village: str, **contact: str) -> str:
    body = {"full_name": name, "position": "sekretaris_desa", "village_code": village, **contact}
    response = await service.client.post("/v1/learners", json=body, headers=admin(service))
    assert response.status_code == 201, response.text
    return str(response.json()["learner_id"])


async def test_an_admins_every_sight_of_a_contact_is_logged_and_nobody_elses(
    enrollment: RunningService,
) -> None:
    client, headers = enrollment.client, admin(enrollment)
    sitti = await register(enrollment, "Wa Ode Sitti", TOWUA, phone="081234567890")
    await register(enrollment, "La Ode Tanpa Kontak", TOWUA)  # no contact: nothing shown
    assert [(r["route"], r["learner_ids"]) for r in await reads(enrollment)] == [
        ("POST /v1/learners", [sitti])
    ]
    first = await reads(enrollment)
    assert first[0]["viewer"] == "admin-pusat" and first[0]["viewer_role"] == "admin"
    assert "phone" not in first[0] and "email" not in first[0]

    replay = {**headers, "Idempotency-Key": "daftar-sitti-2"}
    body = {"full_name": "Wa Ode Sitti", "position": "kepala_desa", "village_code": TOWUA}
    body["email"] = "sitti@desa.id"
    for _ in range(2):
        assert (await client.post("/v1/learners", json=body, headers=replay)).status_code == 201
    assert (await client.get("/v1/learners?region_code=74.01", headers=headers)).status_code == 200
    assert (await client.get(f"/v1/learners/{sitti}", headers=headers)).status_code == 200
    patched = await client.patch(
        f"/v1/learners/{sitti}", json={"full_name": "Wa Ode Sitti R."}, headers=headers
    )
    assert patched.json()["phone"] == "+6281234567890"
    logged = [(r["route"], len(r["learner_ids"])) for r in await reads(enrollment)]
    assert logged == [
        ("POST /v1/learners", 1),
        ("POST /v1/learners", 1),
        ("POST /v1/learners", 1),  # the replay showed the contact again
        ("GET /v1/learners", 2),  # the page's two learners with contact, not the third
        ("GET /v1/learners/{learner_id}", 1),
        ("PATCH /v1/learners/{learner_id}", 1),
    ]

    herself = enrollment.auth("learner", learner_id=uuid.UUID(sitti))
    mine = await client.get(f"/v1/learners/{sitti}", headers=herself)
    assert mine.json()["phone"] == "+6281234567890"
    changed = await client.patch(
        f"/v1/learners/{sitti}", json={"email": "sitti.r@desa.id"}, headers=herself
    )
    assert changed.status_code == 200
    kolaka = enrollment.auth("supervisor", region_code="74.01")
    listed = await client.get("/v1/learners", headers=kolaka)
    assert listed.status_code == 200 and all(i["phone"] is None for i in listed.json()["items"])
    konawe = enrollment.auth("supervisor", region_code="74.02")
    assert (await client.get(f"/v1/learners/{sitti}", headers=konawe)).status_code == 404
    assert (await client.get(f"/v1/learners/{uuid.uuid4()}", headers=headers)).status_code == 404
    assert len(await reads(enrollment)) == len(logged), "nothing more was logged"


async def test_no_contact_leaves_before_its_read_is_in_the_outbox(
    enrollment: RunningService,
) -> None:
    """While the outbox cannot be written, an admin's read waits for it, and a learner's own
    read (which logs nothing) does not."""
    sitti = await register(enrollment, "Wa Ode Sitti", TOWUA, email="sitti@desa.id")
    herself = enrollment.auth("learner", learner_id=uuid.UUID(sitti))
    before = len(await reads(enrollment))
    async with enrollment.runtime.database.transaction() as blocker:
        await blocker.conn.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
        read = asyncio.create_task(
            enrollment.client.get(f"/v1/learners/{sitti}", headers=admin(enrollment))
        )
        await eventually(waiting_on_a_lock(enrollment), lambda n: n >= 1)
        assert not read.done()
        own = await enrollment.client.get(f"/v1/learners/{sitti}", headers=herself)
        assert own.json()["email"] == "sitti@desa.id"
    answer = await read
    assert answer.status_code == 200 and answer.json()["email"] == "sitti@desa.id"
    assert [r["route"] for r in (await reads(enrollment))[before:]] == [
        "GET /v1/learners/{learner_id}"
    ]


def waiting_on_a_lock(service: RunningService) -> Any:
    async def count() -> int:
        async with service.runtime.database.read() as conn:
            query = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO outbox%'"
            )
            return int((await conn.execute(query)).scalar_one())

    return count
