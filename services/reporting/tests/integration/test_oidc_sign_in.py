"""Signing in to the dashboard through a real OpenID Connect provider (``oidc-provider-mock``,
an authlib-based provider served over HTTP on a loopback port), with reporting configured as
in production: the coordinator of province 74 goes from a page to the provider's form and back
with a session; a Kolaka (74.01) coordinator cannot open Konawe (74.02). What an attacker
tries (a forged or missing state, a reused code, another client's code, another sign-in's
code, a provider whose signature the platform's JWKS does not hold, a refusal at the
provider, a provider that cannot be reached) ends on an Indonesian page with a 4xx (a 502
for the unreachable provider), never a 500, and never with a session cookie."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from nats.js import JetStreamContext

from reporting.api.sessions import COOKIE, SIGN_IN_COOKIE
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service

from .conftest import Province74, Publish, province_74_events
from .oidc_provider import Provider, production

pytestmark = [
    pytest.mark.integration,
    # the provider's own use of authlib, not the dashboard's code
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
]
LMS = "https://lms.example.go.id"  # the dashboard as the browser reaches it (in-process)
CALLBACK = f"{LMS}/dashboard/sign-in/callback"


@asynccontextmanager
async def dashboard(
    database_url: str, nats_url: str, **settings: Any
) -> AsyncIterator[RunningService]:
    async with running_service("reporting", database_url, nats_url, **settings) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


def browser(service: RunningService) -> httpx.AsyncClient:
    """A browser of its own (its own cookies) that follows redirects: the dashboard
    in-process, the provider over real HTTP."""
    return httpx.AsyncClient(
        mounts={LMS: httpx.ASGITransport(app=service.app)},
        follow_redirects=True,
        trust_env=False,
        timeout=10,
    )


async def provider_form(client: httpx.AsyncClient, page: str = "/dashboard/regions/74") -> str:
    """From a dashboard page to the provider's form: the sign-in page, then its button."""
    sign_in = await client.get(f"{LMS}{page}")
    assert sign_in.url.path == "/dashboard/sign-in" and 'name="token"' not in sign_in.text
    button = re.search(r'href="(/dashboard/sign-in/oidc[^"]*)"', sign_in.text)
    assert button is not None
    form = await client.get(LMS + html.unescape(button.group(1)))
    assert form.status_code == 200 and "Authorize" in form.text, form.text
    return str(form.url)


async def authorized(
    client: httpx.AsyncClient, subject: str, page: str = "/dashboard/regions/74"
) -> str:
    """The person asks for ``page`` and signs in at the provider; the callback URL it sends
    the browser back to."""
    form = await provider_form(client, page)
    answer = await client.post(form, data={"sub": subject}, follow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["location"]


def assert_refused(answer: httpx.Response, status: int, says: str) -> None:
    """An Indonesian page with ``status``, no session, the one-use state cookie cleared."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html") and says in answer.text
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    assert not any(v.startswith(f"{COOKIE}=") for v in cookies)


@pytest.fixture
async def province_74(
    provider: Provider,
    database_url: str,
    nats_url: str,
    jetstream: JetStreamContext,
    publish: Publish,
) -> AsyncIterator[RunningService]:
    client = provider.register(CALLBACK)
    async with dashboard(
        database_url, nats_url, **production(provider, client, CALLBACK)
    ) as service:
        await publish(province_74_events(Province74()))
        yield service


async def test_the_coordinator_signs_in_at_the_provider_and_sees_only_their_region(
    province_74: RunningService,
) -> None:
    async with browser(province_74) as sultra:
        form = await provider_form(sultra)
        asked = parse_qs(urlsplit(form).query)
        assert asked["code_challenge_method"] == ["S256"] and asked["nonce"][0]
        page = await sultra.post(form, data={"sub": "sultra@bpsdm.example.go.id"})
        assert page.status_code == 200 and str(page.url) == f"{LMS}/dashboard/regions/74"
        assert "<title>Sulawesi Tenggara" in page.text
        assert "Kabupaten Kolaka" in page.text and "Kabupaten Konawe" in page.text
        back = next(r for r in page.history if r.url.path == "/dashboard/sign-in/callback")
        session = next(v for k, v in back.headers.multi_items() if f"{COOKIE}=" in v)
        assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
        assert SIGN_IN_COOKIE not in sultra.cookies
        konawe = await sultra.get(f"{LMS}/dashboard/regions/74.02")
        assert konawe.status_code == 200 and "<title>Kabupaten Konawe" in konawe.text
    async with browser(province_74) as kolaka:
        callback = await authorized(kolaka, "kolaka@bpsdm.example.go.id", "/dashboard/sign-in")
        home = await kolaka.get(callback)  # no page asked for: their own region's
        assert str(home.url) == f"{LMS}/dashboard/regions/74.01" and home.status_code == 200
        assert "<title>Kabupaten Kolaka" in home.text
        konawe = await kolaka.get(f"{LMS}/dashboard/regions/74.02")
        assert konawe.status_code == 403 and "di luar wilayah Anda" in konawe.text


async def test_forged_states_reused_codes_foreign_codes_and_refusals_open_no_session(
    provider: Provider, province_74: RunningService
) -> None:
    async with browser(province_74) as victim, browser(province_74) as attacker:
        callback = await authorized(victim, "sultra@bpsdm.example.go.id")
        code = parse_qs(urlsplit(callback).query)["code"][0]
        forged = await victim.get(f"{LMS}/dashboard/sign-in/callback?code={code}&state=forged")
        assert_refused(forged, 403, "kedaluwarsa")
        no_state = await victim.get(f"{LMS}/dashboard/sign-in/callback?code={code}")
        assert_refused(no_state, 403, "kedaluwarsa")
        elsewhere = await attacker.get(callback)  # the URL replayed in a browser without it
        assert_refused(elsewhere, 403, "kedaluwarsa")

        reused = await authorized(victim, "sultra@bpsdm.example.go.id")
        assert (await victim.get(reused)).url.path == "/dashboard/regions/74"
        theirs = parse_qs(urlsplit(await authorized(attacker, "x")).query)["state"][0]
        used = parse_qs(urlsplit(reused).query)["code"][0]
        again = await attacker.get(f"{LMS}/dashboard/sign-in/callback?code={used}&state={theirs}")
        assert_refused(again, 401, "tidak dapat dipakai")

        other_app = provider.register("https://other.example.id/callback")
        query = {"client_id": other_app["client_id"], "response_type": "code", "scope": "openid"}
        query |= {"redirect_uri": "https://other.example.id/callback", "nonce": "n", "state": "s"}
        answer = await attacker.post(
            provider.url("/oauth2/authorize"),
            params=query,
            data={"sub": "x"},
            follow_redirects=False,
        )
        foreign = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        theirs = parse_qs(urlsplit(await authorized(attacker, "x")).query)["state"][0]
        stolen = await attacker.get(
            f"{LMS}/dashboard/sign-in/callback?code={foreign}&state={theirs}"
        )
        assert_refused(stolen, 401, "tidak dapat dipakai")


async def test_a_code_of_another_sign_in_a_learner_and_a_refusal_at_the_provider(
    province_74: RunningService,
) -> None:
    async with browser(province_74) as victim, browser(province_74) as attacker:
        # the attacker's own code, slipped into the victim's sign-in: its ID token answers
        # the attacker's nonce, not the victim's
        planted = parse_qs(urlsplit(await authorized(attacker, "kolaka@bpsdm.example.go.id")).query)
        state = parse_qs(urlsplit(await provider_form(victim)).query)["state"][0]
        swapped = await victim.get(
            f"{LMS}/dashboard/sign-in/callback?code={planted['code'][0]}&state={state}"
        )
        assert_refused(swapped, 401, "tidak dapat dipakai")
        learner = await victim.get(await authorized(victim, "wa.ode@desa.example.id"))
        assert_refused(learner, 403, "supervisor dan admin")
        denied = await victim.post(await provider_form(victim), data={"action": "deny"})
        assert denied.url.path == "/dashboard/sign-in/callback"
        assert_refused(denied, 403, "dibatalkan atau ditolak")
        assert COOKIE not in victim.cookies and COOKIE not in attacker.cookies


async def test_an_impostor_provider_and_an_unreachable_one_open_no_session(
    provider: Provider, database_url: str, nats_url: str, jetstream: JetStreamContext
) -> None:
    impostor = production(
        provider, provider.register(CALLBACK, at="impostor"), CALLBACK, at="impostor"
    )
    async with dashboard(database_url, nats_url, **impostor) as service, browser(service) as b:
        page = await b.get(await authorized(b, "sultra@bpsdm.example.go.id"))
        assert_refused(page, 401, "tidak dapat dipakai")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/token"  # nobody listens
    down = production(provider, provider.register(CALLBACK), CALLBACK) | {"oidc_token_url": closed}
    async with dashboard(database_url, nats_url, **down) as service, browser(service) as b:
        page = await b.get(await authorized(b, "sultra@bpsdm.example.go.id"))
        assert_refused(page, 502, "tidak dapat dihubungi")


async def test_a_client_whose_provider_takes_the_secret_in_the_form_signs_in_too(
    provider: Provider, database_url: str, nats_url: str, jetstream: JetStreamContext
) -> None:
    client = provider.register(CALLBACK, token_endpoint_auth_method="client_secret_post")
    settings = production(provider, client, CALLBACK) | {"oidc_client_auth": "client_secret_post"}
    async with dashboard(database_url, nats_url, **settings) as service, browser(service) as b:
        callback = await authorized(b, "kolaka@bpsdm.example.go.id", "/dashboard/regions/74.01")
        page = await b.get(callback)
        assert page.status_code == 200 and str(page.url) == f"{LMS}/dashboard/regions/74.01"


async def test_in_development_the_paste_forms_nonce_is_no_state_of_the_provider(
    provider: Provider, database_url: str, nats_url: str, jetstream: JetStreamContext
) -> None:
    settings = production(provider, provider.register(CALLBACK), CALLBACK)
    settings |= {"environment": "test", "auth_jwks_url": None}
    async with dashboard(database_url, nats_url, **settings) as service, browser(service) as b:
        form = await b.get(f"{LMS}/dashboard/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce is not None and "Masuk dengan akun instansi" in form.text
        mixed = await b.get(f"{LMS}/dashboard/sign-in/callback?code=x&state={nonce.group(1)}")
        assert_refused(mixed, 403, "kedaluwarsa")
