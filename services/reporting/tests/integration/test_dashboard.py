"""The dashboard on real PostgreSQL and NATS: signing in and out with a session cookie, no
token in any URL, Indonesian numbers equal to the API's, filters, a breadcrumb, a village's
officials, and what an attacker tries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from reporting.api.sessions import COOKIE, SIGN_IN_COOKIE
from reporting.settings import DEV_SESSION_KEY
from servicekit.testing.services import RunningService, running_service

from .conftest import TOWUA, Province74

pytestmark = pytest.mark.integration
Reporting74 = tuple[RunningService, Province74]


async def signed_in(service: RunningService, token: str, next: str | None = None) -> httpx.Response:
    """The browser's way in: the sign-in page, then the pasted token posted with its nonce."""
    client = service.client
    form_page = await client.get("/dashboard/sign-in", params={"next": next} if next else None)
    assert form_page.status_code == 200 and SIGN_IN_COOKIE in form_page.cookies
    nonce = re.search(r'name="nonce" value="([^"]+)"', form_page.text)
    assert nonce is not None
    form = {"token": token, "nonce": nonce.group(1)} | ({"next": next} if next else {})
    return await client.post("/dashboard/sign-in", data=form)


def hrefs(page: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', page)


async def test_a_coordinator_signs_in_and_the_pages_carry_no_token_and_the_apis_numbers(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    client = service.client
    asked = await client.get("/dashboard/regions/74?days=30")
    assert asked.status_code == 303
    assert (
        asked.headers["location"]
        == "/dashboard/sign-in?next=%2Fdashboard%2Fregions%2F74%3Fdays%3D30"
    )
    sign_in = await client.get(asked.headers["location"])
    assert "Masuk" in sign_in.text and 'lang="id"' in sign_in.text
    token = service.token("supervisor", region_code="74")
    answer = await signed_in(service, token, next="/dashboard/regions/74?days=30")
    assert (
        answer.status_code == 303 and answer.headers["location"] == "/dashboard/regions/74?days=30"
    )
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http in the test; https and production add it
    page = await client.get("/dashboard/regions/74")
    assert page.status_code == 200, page.text
    assert token not in page.text and all("token" not in link for link in hrefs(page.text))
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    api = (
        await client.get("/v1/reports/regions/74", headers={"Authorization": f"Bearer {token}"})
    ).json()
    totals = api["totals"]
    assert (totals["registered"], totals["enrolled"], totals["completed"]) == (5, 5, 2)
    assert kpi(page.text, "registered") == "5" and kpi(page.text, "completed") == "2"
    assert kpi(page.text, "completion_rate") == "40%"
    assert kpi(page.text, "avg_improvement") == "45,5"  # 85,5 - 40, written as Indonesians do
    assert 'href="/dashboard/regions/74.01?days=14"' in page.text
    assert "<svg" in page.text and 'href="/dashboard/export/regions/74?days=14"' in page.text


def kpi(page: str, key: str) -> str:
    found = re.search(rf'data-kpi="{key}"><span class="label">[^<]*</span><b>([^<]*)</b>', page)
    assert found is not None, key
    return found.group(1)


async def test_filters_a_breadcrumb_and_two_decimal_rates_follow_the_coordinator_down(
    reporting_74: Reporting74,
) -> None:
    service, data = reporting_74
    await signed_in(service, service.token("supervisor", region_code="74"))
    district = await service.client.get(
        "/dashboard/regions/74.01.01",
        params={
            "course_id": str(data.course_id),
            "cohort": "Angkatan 1",
            "position": "",
            "days": "30",
        },
    )
    assert district.status_code == 200, district.text
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', district.text, re.S)
    assert crumbs is not None
    assert ">Sulawesi Tenggara</a>" in crumbs.group(0) and ">Kabupaten Kolaka</a>" in crumbs.group(
        0
    )
    assert "Nasional" not in crumbs.group(0)  # above the supervisor's region: not offered
    assert kpi(district.text, "completion_rate") == "50%"  # 2 of the 4 in Wundulako
    query = f"course_id={data.course_id}&cohort=Angkatan+1&days=30"
    assert f'href="/dashboard/regions/74.01.01.2006?{query.replace("&", "&amp;")}"' in district.text
    assert "selected>Angkatan 1</option>" in district.text
    towua = await service.client.get(f"/dashboard/regions/{TOWUA}?{query}")
    assert kpi(towua.text, "completion_rate") == "66,67%"
    officials = re.search(r'<table id="officials">.*?</table>', towua.text, re.S)
    assert officials is not None
    for name in ("Wa Ode Hasnia", "La Ode Rahman", "Kepala Desa", "Selesai", "Terdaftar"):
        assert name in officials.group(0)
    assert "&#34;" in officials.group(0) or "&quot;" in officials.group(0)  # escaped, not markup
    assert "100%" in officials.group(0) and ">0%<" in officials.group(0)
    refused = await service.client.get(
        "/dashboard/regions/74.01.01", params={"course_id": "x" * 36}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "course_id"


async def test_out_of_region_pages_and_exports_are_refused_in_indonesian_not_in_json(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    await signed_in(service, service.token("supervisor", region_code="74.01"))
    page = await service.client.get("/dashboard/regions/74.02")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "di luar wilayah Anda" in page.text and 'href="/dashboard/regions/74.01"' in page.text
    assert (await service.client.get("/dashboard/national")).status_code == 403
    assert (await service.client.get("/dashboard/regions/74.01.99")).status_code == 404
    for path in ("/dashboard/export/regions/74.02", "/dashboard/export/learners/74"):
        assert (await service.client.get(path)).status_code == 403
    assert (await service.client.get("/dashboard/export/regions/74.01")).status_code == 200


async def test_sign_in_refuses_forged_stale_and_learner_tokens_and_forged_sessions(
    reporting_74: Reporting74,
) -> None:
    service, _ = reporting_74
    client = service.client
    learner = await signed_in(
        service, service.token("learner", learner_id=__import__("uuid").uuid4())
    )
    assert learner.status_code == 403 and "supervisor dan admin" in learner.text
    forged = await signed_in(
        service, jwt.encode({"sub": "x", "roles": ["admin"]}, "guess-" * 8, "HS256")
    )
    assert forged.status_code == 401 and COOKIE not in forged.cookies
    client.cookies.clear()
    no_nonce = await client.post("/dashboard/sign-in", data={"token": service.token("admin")})
    assert no_nonce.status_code == 403 and COOKIE not in no_nonce.cookies
    offsite = await signed_in(service, service.token("admin"), next="https://evil.example/x")
    assert offsite.headers["location"] == "/dashboard/national"
    now = datetime.now(UTC)
    for claims, key in (
        ({"roles": ["admin"], "exp": now - timedelta(minutes=1)}, DEV_SESSION_KEY),
        ({"roles": ["admin"], "exp": now + timedelta(hours=1)}, "not-the-key-" * 4),
    ):
        client.cookies.clear()
        session = {"sub": "x", "sid": "s", "aud": "lms-dashboard", "iat": now} | claims
        client.cookies.set(COOKIE, jwt.encode(session, key, "HS256"), path="/dashboard")
        assert (await client.get("/dashboard/national")).status_code == 303


async def test_signing_out_needs_the_sessions_csrf_token(reporting_74: Reporting74) -> None:
    service, _ = reporting_74
    client = service.client
    await signed_in(service, service.token("supervisor", region_code="74"))
    page = await client.get("/dashboard/regions/74")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    refused = await client.post("/dashboard/sign-out", data={"csrf": "0" * 64})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert (await client.get("/dashboard/regions/74")).status_code == 200  # still signed in
    out = await client.post("/dashboard/sign-out", data={"csrf": csrf.group(1)})
    assert out.status_code == 200 and "Anda sudah keluar" in out.text
    assert (await client.get("/dashboard/regions/74")).status_code == 303


async def test_production_signs_in_through_the_oidc_provider_only_with_secure_cookies(
    database_url: str, nats_url: str, jetstream: object
) -> None:
    settings = {
        "environment": "prod",
        "auth_jwks_url": "https://id.example.go.id/jwks",
        "cursor_signing_key": "c" * 40,
        "dashboard_session_key": "s" * 40,
        "oidc_authorization_url": "https://id.example.go.id/authorize",
        "oidc_token_url": "https://id.example.go.id/token",
        "oidc_client_id": "lms-dashboard",
        "oidc_redirect_url": "https://lms.example.go.id/dashboard/sign-in/callback",
    }
    async with running_service("reporting", database_url, nats_url, **settings) as service:
        client = service.client
        page = await client.get("/dashboard/sign-in?next=/dashboard/regions/74")
        assert 'name="token"' not in page.text
        assert 'href="/dashboard/sign-in/oidc?next=/dashboard/regions/74"' in page.text
        pasted = await client.post("/dashboard/sign-in", data={"token": "a.b.c", "nonce": "n"})
        assert pasted.status_code == 403 and "akun instansi" in pasted.text
        off = await client.get("/dashboard/sign-in/oidc?next=/dashboard/regions/74")
        assert off.status_code == 303
        target = urlsplit(off.headers["location"])
        asked = parse_qs(target.query)
        assert target.netloc == "id.example.go.id" and asked["response_type"] == ["code"]
        assert asked["code_challenge_method"] == ["S256"] and len(asked["state"][0]) >= 24
        assert asked["redirect_uri"] == [settings["oidc_redirect_url"]]
        state_cookie = next(v for k, v in off.headers.multi_items() if k == "set-cookie")
        assert "Secure" in state_cookie and "HttpOnly" in state_cookie
        wrong = await client.get("/dashboard/sign-in/callback?code=abc&state=not-the-state")
        assert wrong.status_code == 403 and COOKIE not in wrong.cookies
