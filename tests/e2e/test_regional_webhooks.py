"""A regional integrator without a NATS client, across the real processes: the province's
admin registers Kabupaten Kolaka's HTTPS endpoint with the webhook bridge, learners register,
enroll and study in real villages of Sulawesi Tenggara (and elsewhere), and the regency's
system receives exactly its own learner events, signed, in order per learner; through its own
outage, a duplicate request and a replay, with hostile registrations refused."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

import lms_contracts as c
from lms_cli.stack import LocalStack
from servicekit.auth import mint_token
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings
from servicekit.testing.https import Certificates, Receiver, https_receiver, make_certificates
from servicekit.testing.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
TOWUA, BENDE = "74.01.01.2006", "74.01.01.2007"  # Kabupaten Kolaka, Sulawesi Tenggara
AWULITI = "74.02.01.2006"  # Kabupaten Konawe: the same province, another regency
BENTENG_UTARA = "73.01.01.1001"  # Sulawesi Selatan


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def urls(certificates: Certificates) -> Iterator[dict[str, str]]:
    """Every registered service as a process; the bridge trusts the receiver's authority and
    retries quickly (its schedule is configuration)."""
    bridge = {"CA_BUNDLE": str(certificates.ca), "RETRY_SCHEDULE_SECONDS": "[0.2, 0.5, 1]"}
    ports = {name: free_port() for name in SERVICES}
    with LocalStack(ports=ports, external=False, service_env=bridge) as local:
        yield local.urls


def auth(*roles: str, learner_id: str | None = None, region: str | None = None) -> dict[str, str]:
    token = mint_token(
        ServiceSettings(),
        roles=list(roles),
        learner_id=uuid.UUID(learner_id) if learner_id else None,
        region_code=region,
    )
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response, status: int | None = None) -> Any:
    assert response.status_code < 400 if status is None else response.status_code == status, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    )
    return response.json() if response.content else None


async def course_with_lessons(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> tuple[str, list[str]]:
    lessons = [
        {"title": f"Siklus APBDes {i}", "kind": "text", "body": "Perencanaan ...", "required": True}
        for i in (1, 2)
    ]
    course = ok(
        await http.post(
            f"{urls['content']}/v1/courses",
            headers=auth("instructor"),
            json={
                "code": "KEU-02",
                "title": "Pengelolaan Keuangan Desa",
                "modules": [{"title": "APBDes", "lessons": lessons}],
            },
        ),
        201,
    )
    course_id = course["course_id"]
    ok(
        await http.post(
            f"{urls['content']}/v1/courses/{course_id}/publish", headers=auth("instructor")
        )
    )
    await eventually(
        lambda: http.get(f"{urls['enrollment']}/v1/catalog", headers=auth("admin")),
        lambda r: any(item["course_id"] == course_id for item in r.json()),
    )
    return course_id, [x["lesson_id"] for m in course["modules"] for x in m["lessons"]]


async def learner_enrolled(
    http: httpx.AsyncClient, urls: dict[str, str], name: str, village_code: str, course_id: str
) -> str:
    learner = ok(
        await http.post(
            f"{urls['enrollment']}/v1/learners",
            headers=auth("admin"),
            json={"full_name": name, "position": "kaur_keuangan", "village_code": village_code},
        ),
        201,
    )
    me = auth("learner", learner_id=learner["learner_id"])
    body = {"learner_id": learner["learner_id"], "course_id": course_id}
    ok(await http.post(f"{urls['enrollment']}/v1/enrollments", headers=me, json=body), 201)
    return str(learner["learner_id"])


async def complete(
    http: httpx.AsyncClient, urls: dict[str, str], learner_id: str, course_id: str, lesson_id: str
) -> None:
    me = auth("learner", learner_id=learner_id)
    body = {"course_id": course_id, "lesson_id": lesson_id}
    await eventually(
        lambda: http.post(f"{urls['content']}/v1/progress", headers=me, json=body),
        lambda r: r.status_code in (200, 201),
    )


async def hostile_registrations_are_refused(http: httpx.AsyncClient, hooks: str, url: str) -> None:
    body = {"url": url, "region_code": "74.01"}
    for headers in (
        {},
        auth("supervisor", region="74"),
        auth("learner", learner_id=str(uuid.uuid4())),
    ):
        response = await http.post(hooks, json=body, headers=headers)
        assert response.status_code in (401, 403), response.text
    refused = {
        "url": {"url": url.replace("https://", "https://admin:rahasia@"), "region_code": "74.01"},
        "event_types.0": {
            "url": url,
            "region_code": "74.01",
            "event_types": ["lms.enrollment.learner-contact-changed.v1"],
        },
        "region_code": {"url": url, "region_code": "74.99"},
    }
    for field, hostile in refused.items():
        response = await http.post(hooks, json=hostile, headers=auth("admin"))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


async def test_kolaka_receives_its_learner_events_signed_in_order_through_an_outage_and_a_replay(
    urls: dict[str, str], certificates: Certificates
) -> None:
    hooks = f"{urls['webhooks']}/v1/webhooks/endpoints"
    admin = auth("admin")
    async with (
        https_receiver(certificates, Receiver()) as receiver,
        httpx.AsyncClient(timeout=15) as http,
    ):
        url = f"{receiver.url}/lms/events"
        await hostile_registrations_are_refused(http, hooks, url)
        endpoint = ok(
            await http.post(hooks, json={"url": url, "region_code": "74.01"}, headers=admin), 201
        )
        secret, path = endpoint["secret"], f"{hooks}/{endpoint['endpoint_id']}"
        again = await http.post(hooks, json={"url": url, "region_code": "74.01"}, headers=admin)
        assert again.status_code == 409  # registered twice by mistake: refused
        listed = (await http.get(hooks, headers=admin)).text
        assert secret not in listed

        course_id, lessons = await course_with_lessons(http, urls)
        sitti = await learner_enrolled(http, urls, "Wa Ode Sitti", TOWUA, course_id)
        andi = await learner_enrolled(http, urls, "Andi Baso", BENDE, course_id)
        elsewhere = {
            await learner_enrolled(http, urls, "La Ode Konawe", AWULITI, course_id),
            await learner_enrolled(http, urls, "Daeng Selayar", BENTENG_UTARA, course_id),
        }
        await complete(http, urls, sitti, course_id, lessons[0])
        await complete(http, urls, sitti, course_id, lessons[0])  # sent twice: one event

        def of(learner_id: str, accepted_only: bool = True) -> list[c.CloudEvent[Any]]:
            found = []
            for request in receiver.receiver.received:
                if accepted_only and not request.accepted:
                    continue
                event = c.parse_event(request.body)
                if str(getattr(event.data, "learner_id", "")) == learner_id:
                    found.append(event)
            return found

        async def types_of(learner_id: str) -> list[str]:
            return [e.type for e in of(learner_id)]

        await eventually(lambda: types_of(sitti), lambda t: len(t) >= 3, timeout=30)
        assert await types_of(sitti) == [
            "lms.enrollment.learner-registered.v1",
            "lms.enrollment.enrolled.v1",
            "lms.content.lesson-completed.v1",
        ]
        await eventually(lambda: types_of(andi), lambda t: len(t) == 2, timeout=30)

        await receiver.stop()  # the regency's server goes down
        await complete(http, urls, sitti, course_id, lessons[1])
        await complete(http, urls, andi, course_id, lessons[0])
        await eventually(
            lambda: http.get(f"{path}/deliveries?status=pending", headers=admin),
            lambda r: any(d["attempts"] >= 1 for d in r.json()["items"]),
            timeout=30,
        )
        await receiver.start()  # and comes back
        await eventually(lambda: types_of(andi), lambda t: len(t) == 3, timeout=30)
        await eventually(lambda: types_of(sitti), lambda t: len(t) == 4, timeout=30)

        for request in receiver.receiver.received:
            Webhook(secret).verify(request.body, request.headers)
            event = c.parse_event(request.body)
            assert request.headers["webhook-id"] == str(event.id)
            assert getattr(event.data, "village_code", "").startswith("74.01.")
            assert str(getattr(event.data, "learner_id", "")) not in elsewhere
        sitti_types = await types_of(sitti)
        assert sitti_types.count("lms.content.lesson-completed.v1") == 2
        assert len({e.id for e in of(sitti)}) == len(of(sitti)), "each event accepted once"
        received_before = len(receiver.receiver.received)
        # the receiver has every event; the bridge records each answer just after it (a
        # replay leaves a delivery still pending as it is)
        await eventually(
            lambda: http.get(f"{path}/deliveries?status=pending", headers=admin),
            lambda r: r.json()["items"] == [],
            timeout=30,
        )

        since = of(sitti)[0].time.isoformat()  # the integrator lost its copy: replay
        replayed = ok(await http.post(f"{path}/replay", json={"since": since}, headers=admin), 202)
        assert replayed["queued"] >= len(of(sitti)) + len(of(andi))
        await eventually(
            lambda: types_of(sitti), lambda t: len(t) == 2 * len(sitti_types), timeout=30
        )
        replayed_ids = [e.id for e in of(sitti)[len(sitti_types) :]]
        assert replayed_ids == [e.id for e in of(sitti)[: len(sitti_types)]], "same ids, same order"
        assert len(receiver.receiver.received) > received_before
        shown = ok(await http.get(path, headers=admin))
        assert shown["deliveries"]["dead"] == 0 and secret not in str(shown)
