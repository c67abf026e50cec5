"""The provincial coordinator's dashboard in a real headless Chromium (Debian's, driven by
Playwright) against the services as processes, with the demo officials of Sulawesi Tenggara
(province 74) brought in through the public APIs: signing in, pages at desktop and phone
width (screenshots in ``test-artifacts/dashboard/``), numbers equal to the API's, no token
in any link, and the way down to a village and its spreadsheet."""

from __future__ import annotations

import io
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, sync_playwright

from lms_cli.demo import load_demo
from lms_cli.stack import LocalStack
from servicekit.auth import mint_token
from servicekit.indonesian import angka
from servicekit.registry import NAMES as SERVICES
from servicekit.settings import ServiceSettings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
TOWUA = "74.01.01.2006"


def until(probe: Callable[[], Any], condition: Callable[[Any], bool], timeout: float = 30) -> Any:
    """Probe the system until it reaches ``condition`` (it will: events are on their way)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if condition(found):
            return found
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {found!r}"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Coordinator:
    """The stack with demo data, and the province-74 coordinator's token."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.settings = ServiceSettings()
        self.token = mint_token(self.settings, roles=["supervisor"], region_code="74")
        self.reporting = urls["reporting"]

    def api(self, path: str) -> Any:
        answer = httpx.get(
            f"{self.reporting}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


def lessons_done_by_one_official(urls: dict[str, str], settings: ServiceSettings) -> None:
    """Wa Ode Sitti Rahma of Towua does the first lesson of her course."""
    admin = {"Authorization": "Bearer " + mint_token(settings, roles=["admin"])}
    learners = httpx.get(f"{urls['enrollment']}/v1/learners", headers=admin).json()["items"]
    learner = next(item for item in learners if item["full_name"] == "Wa Ode Sitti Rahma")
    catalog = httpx.get(f"{urls['enrollment']}/v1/catalog", headers=admin).json()
    course = next(c for c in catalog if c["title"] == "Pengelolaan Keuangan Desa")
    detail = httpx.get(f"{urls['content']}/v1/courses/{course['course_id']}", headers=admin).json()
    lesson = detail["modules"][0]["lessons"][0]["lesson_id"]
    me = {
        "Authorization": "Bearer "
        + mint_token(settings, roles=["learner"], learner_id=uuid.UUID(learner["learner_id"]))
    }
    until(
        lambda: httpx.post(
            f"{urls['content']}/v1/progress",
            headers=me,
            json={"course_id": course["course_id"], "lesson_id": lesson},
        ),
        lambda r: r.status_code in (200, 201),
    )


@pytest.fixture(scope="module")
def coordinator() -> Iterator[Coordinator]:
    ports = {name: free_port() for name in SERVICES}
    # six processes importing at once: slow on a busy CI machine
    with LocalStack(ports=ports, external=False, ready_timeout=180) as local:
        settings = ServiceSettings()
        load_demo(local.urls, settings)
        lessons_done_by_one_official(local.urls, settings)
        coordinator = Coordinator(local.urls)
        until(
            lambda: coordinator.api(f"/v1/reports/regions/{TOWUA}"),
            lambda report: report["totals"]["enrolled"] == 2 and report["totals"]["active"] >= 1,
        )
        yield coordinator


@pytest.fixture(scope="module")
def browser(coordinator: Coordinator) -> Iterator[Browser]:
    """Started after the stack: Playwright's own event loop holds the thread while it runs."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is missing: ./lms test installs it (apt-get)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in_page(browser: Browser, coordinator: Coordinator, size: dict[str, int]) -> Page:
    """A fresh browser profile that signs in the way a coordinator does: asked for a page,
    sent to the sign-in form, token pasted, back to the page."""
    context = browser.new_context(viewport=size, locale="id-ID", accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{coordinator.reporting}/dashboard/regions/74")
    assert "/dashboard/sign-in?next=" in page.url
    page.fill("textarea#token", coordinator.token)
    page.click("form[action='/dashboard/sign-in'] button")
    page.wait_for_url(f"{coordinator.reporting}/dashboard/regions/74")
    return page


def links_of(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "a[href], form[action], link[href]",
        "nodes => nodes.map(n => n.getAttribute('href') || n.getAttribute('action'))",
    )


def assert_no_token_anywhere(page: Page, token: str) -> None:
    assert "token" not in page.url and token not in page.url
    for link in links_of(page):
        assert "token" not in link and token not in link, link


def fits(page: Page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_province_page_loads_fits_and_shows_the_apis_numbers_without_a_token_in_any_link(
    browser: Browser, coordinator: Coordinator, size: dict[str, int]
) -> None:
    page = signed_in_page(browser, coordinator, size)
    cookie = next(c for c in page.context.cookies() if c["name"] == "lms_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.title().startswith("Sulawesi Tenggara")
    report = coordinator.api("/v1/reports/regions/74")
    for key in ("registered", "enrolled", "active", "completed", "certified"):
        shown = page.inner_text(f"[data-kpi='{key}'] b")
        assert shown == angka(report["totals"][key], 2), key
    kolaka = next(c for c in report["children"] if c["region"]["code"] == "74.01")
    row = page.locator("tr[data-code='74.01'] td")
    assert row.nth(1).inner_text() == "Kabupaten Kolaka"
    assert row.nth(2).inner_text() == angka(kolaka["totals"]["registered"])
    assert page.locator("svg.chart rect").count() == 24  # 12 weeks, two bars each
    assert_no_token_anywhere(page, coordinator.token)
    assert fits(page, size["width"]), "the page is wider than the screen"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"province-74-{size['width']}.png"), full_page=True)
    page.context.close()


def test_the_coordinator_goes_down_to_a_village_on_a_phone_and_files_its_spreadsheet(
    browser: Browser, coordinator: Coordinator
) -> None:
    page = signed_in_page(browser, coordinator, PHONE)
    page.select_option("select[name='days']", "30")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r".*/dashboard/regions/74\?.*days=30"))
    for name in ("Kabupaten Kolaka", "Wundulako", "Towua"):
        page.click(f"table#children a:text-is('{name}')")
        page.wait_for_selector(f"h1:text-is('{name}')")
        assert page.url.endswith("?days=30"), "the filters go along"
        assert_no_token_anywhere(page, coordinator.token)
        assert fits(page, PHONE["width"]), name
    crumbs = page.locator("nav.crumbs li").all_inner_texts()
    assert [c.strip() for c in crumbs] == [
        "Sulawesi Tenggara",
        "Kabupaten Kolaka",
        "Wundulako",
        "Towua",
    ]
    officials = page.inner_text("table#officials")
    assert "Wa Ode Sitti Rahma" in officials and "La Ode Muhammad Arif" in officials
    assert "Sekretaris Desa" in officials and "Sedang belajar" in officials
    page.screenshot(path=str(ARTIFACTS / "village-towua-390.png"), full_page=True)
    with page.expect_download() as download:
        page.click("a#export-learners")
    body = Path(download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet["A2"].value == f"Wilayah: Towua ({TOWUA})"
    assert str(sheet["A4"].value).endswith("WITA")
    names = {row[3] for row in sheet.iter_rows(min_row=7, values_only=True)}
    assert names == {"Wa Ode Sitti Rahma", "La Ode Muhammad Arif"}
    page.click("nav.crumbs a:text-is('Kabupaten Kolaka')")
    page.wait_for_selector("h1:text-is('Kabupaten Kolaka')")
    with page.expect_download() as download:
        page.click("a#export")
    region = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert region is not None and region["A3"].value == "Saringan: aktif 30 hari terakhir"
    page.click("form.sign-out button")
    page.wait_for_selector("text=Anda sudah keluar.")
    page.goto(f"{coordinator.reporting}/dashboard/regions/74")
    assert "/dashboard/sign-in" in page.url
    page.context.close()
