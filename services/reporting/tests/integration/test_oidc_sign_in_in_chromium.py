"""The coordinator signs in to the dashboard through the OIDC provider in a real headless
Chromium (Debian's, driven by Playwright): reporting configured as in production and served
over HTTP on 127.0.0.1, the provider reached by the browser as another site (``localhost``),
so the browser's own cookie rules (SameSite, Secure, HttpOnly) decide whether the state
survives the trip. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from playwright.async_api import Browser, ViewportSize, async_playwright

from reporting.api.sessions import COOKIE, SIGN_IN_COOKIE
from reporting.regions_loader import load_regions
from servicekit.testing.services import RunningService, running_service

from .oidc_provider import Provider, production

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
]
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "dashboard"
PHONE: ViewportSize = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def dashboard(
    provider: Provider, database_url: str, nats_url: str, jetstream: JetStreamContext
) -> AsyncIterator[RunningService]:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/dashboard/sign-in/callback"
    settings = production(provider, provider.register(callback), callback, browser_host="localhost")
    async with running_service(
        "reporting", database_url, nats_url, over_http=True, http_port=port, **settings
    ) as service:
        async with service.runtime.database.transaction() as tx:
            await load_regions(tx.conn)
        yield service


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is missing: ./lms test installs it (apt-get)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        yield browser
        await browser.close()


async def test_the_coordinator_signs_in_at_the_provider_in_a_browser_on_a_phone(
    dashboard: RunningService, chromium: Browser
) -> None:
    lms = str(dashboard.client.base_url).rstrip("/")
    context = await chromium.new_context(viewport=PHONE, locale="id-ID")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{lms}/dashboard/regions/74")
    assert "/dashboard/sign-in?next=" in page.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sign-in-oidc-390.png"), full_page=True)
    await page.click("a:text-is('Masuk dengan akun instansi')")
    await page.wait_for_url("http://localhost:*/id/oauth2/authorize?*")
    await page.fill("input[name='sub']", "sultra@bpsdm.example.go.id")
    await page.click("button:text-is('Authorize')")
    await page.wait_for_url(f"{lms}/dashboard/regions/74")
    assert (await page.title()).startswith("Sulawesi Tenggara")
    cookies = {cookie["name"]: cookie for cookie in await context.cookies()}
    session = cookies[COOKIE]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    assert SIGN_IN_COOKIE not in cookies
    await page.goto(f"{lms}/dashboard/regions/74.02")
    assert (await page.title()).startswith("Kabupaten Konawe")
    await context.close()


async def test_refusing_at_the_provider_brings_the_browser_back_without_a_session(
    dashboard: RunningService, chromium: Browser
) -> None:
    lms = str(dashboard.client.base_url).rstrip("/")
    context = await chromium.new_context(viewport=PHONE, locale="id-ID")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{lms}/dashboard/sign-in")
    await page.click("a:text-is('Masuk dengan akun instansi')")
    await page.click("button:text-is('Deny')")
    await page.wait_for_url(f"{lms}/dashboard/sign-in/callback?*")
    assert "dibatalkan atau ditolak" in await page.inner_text("p.notice")
    assert COOKIE not in {cookie["name"] for cookie in await context.cookies()}
    await context.close()
