"""The admin API under production address rules: every bad or hostile input is a problem
naming its field, only admins get in, and a secret is never shown twice nor kept in clear."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select

from servicekit.testing.https import Certificates
from servicekit.testing.services import RunningService
from webhooks.main import Settings, dependencies
from webhooks.store.tables import endpoint_secrets

from .conftest import FAST, bridge

pytestmark = pytest.mark.integration
NAMES = {
    "sim.sultraprov.go.id": ["36.92.1.10"],  # a public address
    "intranet.kolakakab.go.id": ["10.20.1.5"],  # the government network the operator allows
    "rebinding.example.id": ["36.92.1.11", "169.254.169.254"],  # one public, one metadata
    "router.example.id": ["192.168.1.1"],
}


async def names(host: str) -> list[str]:
    return NAMES.get(host, [])


@pytest.fixture
async def service(
    jetstream: JetStreamContext, database_url: str, nats_url: str, certificates: Certificates
) -> Any:
    production_rules = {
        "private_networks_allowed": False,
        "allowed_networks": ["10.20.0.0/16"],
        "run_delivery_worker": False,
    }
    settings = Settings(**FAST, **production_rules)
    deps = replace(dependencies(settings), resolver=names)
    async with bridge(
        database_url, nats_url, certificates, deps=deps, **production_rules
    ) as running:
        yield running


async def post(service: RunningService, body: dict[str, Any], *roles: str) -> Any:
    return await service.client.post(
        "/v1/webhooks/endpoints", json=body, headers=service.auth(*(roles or ("admin",)))
    )


def refused_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["errors"][0]["field"])


REFUSED_URLS = [
    "http://sim.sultraprov.go.id/hooks",  # not https
    "https://127.0.0.1:8443/hooks",  # loopback
    "https://[::ffff:127.0.0.1]/hooks",  # loopback, written as IPv6
    "https://localhost/hooks",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://192.168.1.1/hooks",
    "https://router.example.id/hooks",  # a name for a private address
    "https://rebinding.example.id/hooks",  # one of its addresses is private
    "https://nowhere.example.id/hooks",  # no address at all
    "https://admin:secret@sim.sultraprov.go.id/hooks",  # credentials in the URL
    "https://sim.sultraprov.go.id/hooks#part",
    "ftp://sim.sultraprov.go.id/hooks",
    "not a url",
    "https://sim.sultraprov.go.id:99999/hooks",
]


async def test_an_address_the_bridge_must_not_post_to_is_refused_naming_the_url(
    service: RunningService,
) -> None:
    for url in REFUSED_URLS:
        response = await post(service, {"url": url, "region_code": "74"})
        assert refused_field(response) == "url", url


async def test_public_addresses_and_the_allowed_government_network_are_accepted(
    service: RunningService,
) -> None:
    for url in ("https://sim.sultraprov.go.id/hooks", "https://intranet.kolakakab.go.id/lms"):
        response = await post(service, {"url": url, "region_code": "74.01"})
        assert response.status_code == 201, response.text
        assert response.json()["secret"].startswith("whsec_")
    twice = await post(
        service, {"url": "https://sim.sultraprov.go.id/hooks", "region_code": "74.01"}
    )
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "url"


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"region_code": "99"}, "region_code"),  # no such province
    ({"region_code": "74.99"}, "region_code"),
    ({"region_code": "74; DROP TABLE endpoints"}, "region_code"),
    ({"event_types": ["lms.enrollment.learner-contact-changed.v1"]}, "event_types.0"),
    ({"event_types": ["lms.enrollment.learner-contacts-viewed.v1"]}, "event_types.0"),
    ({"event_types": ["lms.content.course-published.v1"]}, "event_types.0"),
    ({"event_types": []}, "event_types"),
    ({"description": "x" * 501}, "description"),
    ({"secret": "whsec_mine"}, "secret"),  # the bridge makes secrets
]


async def test_a_bad_field_is_a_problem_naming_it(service: RunningService) -> None:
    for body, field in BAD_FIELDS:
        fields = {"url": "https://sim.sultraprov.go.id/hooks", "region_code": "74", **body}
        assert refused_field(await post(service, fields)) == field, body


async def test_only_admins_manage_endpoints(service: RunningService) -> None:
    body = {"url": "https://sim.sultraprov.go.id/hooks", "region_code": "74"}
    supervisor = service.auth("supervisor", region_code="74")
    learner = service.auth("learner", learner_id=uuid.uuid4())
    for headers in (supervisor, learner):
        created = await service.client.post("/v1/webhooks/endpoints", json=body, headers=headers)
        listed = await service.client.get("/v1/webhooks/endpoints", headers=headers)
        assert created.status_code == listed.status_code == 403


async def test_unknown_ids_are_404_and_the_secret_is_sealed_at_rest(
    service: RunningService,
) -> None:
    admin = service.auth("admin")
    missing = f"/v1/webhooks/endpoints/{uuid.uuid4()}"
    for method, path in (
        ("GET", missing),
        ("PATCH", missing),
        ("DELETE", missing),
        ("POST", f"{missing}/secret/rotate"),
        ("POST", f"{missing}/replay"),
        ("GET", f"{missing}/deliveries"),
        ("POST", f"{missing}/dead-letters/redeliver"),
    ):
        body = {"since": "2026-01-01T00:00:00Z"} if path.endswith("replay") else {}
        response = await service.client.request(method, path, json=body, headers=admin)
        assert response.status_code == 404, (method, path, response.text)

    created = (
        await post(service, {"url": "https://sim.sultraprov.go.id/a", "region_code": "74"})
    ).json()
    secret = created["secret"]
    async with service.runtime.database.read() as conn:
        sealed = (await conn.execute(select(endpoint_secrets.c.sealed))).scalars().all()
    assert len(sealed) == 1 and secret.encode() not in sealed[0]
    assert secret.removeprefix("whsec_").encode() not in sealed[0]
    unknown = f"/v1/webhooks/endpoints/{created['endpoint_id']}/deliveries/{uuid.uuid4()}"
    assert (await service.client.get(unknown, headers=admin)).status_code == 404
    removed = await service.client.delete(
        f"/v1/webhooks/endpoints/{created['endpoint_id']}", headers=admin
    )
    assert removed.status_code == 204


@pytest.mark.parametrize(
    ("url", "indonesian", "english"),
    [
        (
            "https://192.168.1.1/hooks",
            "192.168.1.1 adalah alamat privat, loopback, atau khusus",
            "192.168.1.1 is a private, loopback or reserved address",
        ),
        (
            "https://nowhere.example.id/hooks",
            "nama nowhere.example.id tidak ditemukan di DNS",
            "nowhere.example.id does not resolve",
        ),
        ("ftp://sim.sultraprov.go.id/hooks", "harus URL https:// yang lengkap", None),
    ],
)
async def test_a_refused_address_is_explained_in_the_integrators_language(
    service: RunningService, url: str, indonesian: str, english: str | None
) -> None:
    said = {}
    for language in ("id", "en"):
        response = await service.client.post(
            "/v1/webhooks/endpoints",
            json={"url": url, "region_code": "74"},
            headers={**service.auth("admin"), "Accept-Language": language},
        )
        assert response.json()["code"] == "invalid_endpoint_url"
        said[language] = response.json()["errors"][0]["message"]
    assert said == {"id": indonesian, "en": english or "must be an absolute https:// URL"}
    listed = await service.client.get("/v1/webhooks/endpoints", headers=service.auth("admin"))
    assert listed.json()["items"] == []
