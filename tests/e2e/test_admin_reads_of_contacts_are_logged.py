"""UU PDP (No. 27/2022) across the service processes on real NATS and PostgreSQL: an admin who
sees officials' phone and e-mail in enrollment (registering them, listing a Wakoko village
page, reading one, renaming one) finds each sight in reporting's access log, one row per
official shown per answer, with enrollment's route; an official reading their own record is
not logged, nor a supervisor who is shown no contact; an event delivered twice adds nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import nats
import pytest

from lms_contracts import STREAM, LearnerContactsViewed, parse_event
from servicekit.testing.waiting import eventually

from .conftest import Stack, ok

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
WAKOKO = "74.04.11.1005"  # Pasarwajo, Buton, Sulawesi Tenggara
ADMIN = "admin-pdp-wakoko"
ONE = "GET /v1/learners/{learner_id}"


async def register(http: httpx.AsyncClient, stack: Stack, name: str, **contact: str) -> str:
    body = {"full_name": name, "position": "kaur_keuangan", "village_code": WAKOKO, **contact}
    learners = f"{stack.urls['enrollment']}/v1/learners"
    return str(ok(await http.post(learners, json=body, headers=admin(stack)), 201)["learner_id"])


def admin(stack: Stack) -> dict[str, str]:
    return stack.auth("admin", subject=ADMIN)


async def access_log(http: httpx.AsyncClient, stack: Stack) -> list[dict[str, Any]]:
    url = f"{stack.urls['reporting']}/v1/reports/contact-access?viewer={ADMIN}&limit=200"
    return list(ok(await http.get(url, headers=stack.auth("admin")))["items"])


def routes_by_learner(log: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for row in log:
        found.setdefault(row["learner_id"], Counter())[row["route"]] += 1
    return found


async def deliver_again(stack: Stack, learner_id: str) -> None:
    """The newest contact read on the stream (the admin's read of ``learner_id``), published
    once more under a message id of its own, as a redelivery reaches the consumer."""
    assert stack.nats_admin is not None
    user, password = stack.nats_admin
    nc = await nats.connect(stack.nats_url, user=user, password=password)
    try:
        js = nc.jetstream()
        last = await js.get_last_msg(STREAM, LearnerContactsViewed.event_type)
        event = parse_event(last.data)
        assert isinstance(event.data, LearnerContactsViewed)
        assert event.data.route == ONE and [str(i) for i in event.data.learner_ids] == [learner_id]
        headers = {"Nats-Msg-Id": f"{event.id}-redelivered"}
        await js.publish(LearnerContactsViewed.event_type, last.data, headers=headers)
    finally:
        await nc.close()


async def test_every_sight_of_an_officials_contact_in_enrollment_is_in_the_access_log(
    stack: Stack,
) -> None:
    enrollment = stack.urls["enrollment"]
    async with httpx.AsyncClient(timeout=15) as http:
        kaur = await register(http, stack, "La Ode Kaur", phone="081298765432")
        sekdes = await register(http, stack, "Wa Ode Sekdes", email="sekdes@wakoko.desa.id")
        silent = await register(http, stack, "La Ode Tanpa Kontak")

        page = ok(
            await http.get(f"{enrollment}/v1/learners?region_code={WAKOKO}", headers=admin(stack))
        )
        assert {i["learner_id"] for i in page["items"]} == {kaur, sekdes, silent}
        renamed = await http.patch(
            f"{enrollment}/v1/learners/{kaur}",
            json={"full_name": "La Ode Kaur Keuangan"},
            headers=admin(stack),
        )
        assert ok(renamed)["phone"] == "+6281298765432"
        herself = stack.auth("learner", learner_id=sekdes, subject="wa-ode-sekdes")
        own = ok(await http.get(f"{enrollment}/v1/learners/{sekdes}", headers=herself))
        assert own["email"] == "sekdes@wakoko.desa.id"
        buton = stack.auth("supervisor", region="74.04", subject="pembina-buton")
        shown = ok(await http.get(f"{enrollment}/v1/learners?region_code={WAKOKO}", headers=buton))
        assert all(i["phone"] is None and i["email"] is None for i in shown["items"])
        kolaka = stack.auth("supervisor", region="74.01", subject="pembina-kolaka")
        refused = await http.get(f"{enrollment}/v1/learners/{kaur}", headers=kolaka)
        assert refused.status_code == 404
        read = ok(await http.get(f"{enrollment}/v1/learners/{kaur}", headers=admin(stack)))
        assert read["phone"] == "+6281298765432"

        expected = {
            kaur: Counter(
                {"POST /v1/learners": 1, "GET /v1/learners": 1, ONE: 1}
                | {"PATCH /v1/learners/{learner_id}": 1}
            ),
            sekdes: Counter({"POST /v1/learners": 1, "GET /v1/learners": 1}),
        }
        logged = await eventually(
            lambda: access_log(http, stack), lambda log: routes_by_learner(log) == expected
        )
        assert {(r["viewer_role"], r["viewer_region"]) for r in logged} == {("admin", None)}
        everyone = ok(
            await http.get(
                f"{stack.urls['reporting']}/v1/reports/contact-access?learner_id={sekdes}",
                headers=stack.auth("admin"),
            )
        )["items"]
        assert {r["viewer"] for r in everyone} == {ADMIN}, "her own read is not logged"

        # the same event delivered again, then a later read: the later one is logged, the
        # repeated one adds nothing
        await deliver_again(stack, kaur)
        ok(await http.get(f"{enrollment}/v1/learners/{sekdes}", headers=admin(stack)))
        expected[sekdes][ONE] = 1
        await eventually(
            lambda: access_log(http, stack), lambda log: routes_by_learner(log) == expected
        )

        # nothing personal in a query of the log, and only admins may read it
        log = f"{stack.urls['reporting']}/v1/reports/contact-access"
        bad = await http.get(f"{log}?viewer=admin%00x", headers=stack.auth("admin"))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "viewer"
        assert (await http.get(log, headers=herself)).status_code == 403
        assert (await http.get(log, headers=buton)).status_code == 403
