"""``lms test`` installs the dashboard tests' browser when it is missing, and only then."""

from __future__ import annotations

import pytest

from lms_cli import browser


def test_a_present_chromium_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    ran: list[list[str]] = []
    assert browser.ensure_chromium(lambda command: ran.append(command) or 0) == "/usr/bin/chromium"
    assert ran == []


def test_a_missing_chromium_is_installed_quietly_refreshing_the_lists_only_if_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = False
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)

    def which(name: str) -> str | None:
        if name == "apt-get":
            return "/usr/bin/apt-get"
        return "/usr/bin/chromium" if installed and name == "chromium" else None

    monkeypatch.setattr(browser.shutil, "which", which)
    ran: list[list[str]] = []

    def run(command: list[str]) -> int:
        nonlocal installed
        ran.append(command)
        if command[1] == "update":
            return 0
        installed = any(c[1] == "update" for c in ran)  # the first install finds no lists
        return 0 if installed else 100

    assert browser.ensure_chromium(run) == "/usr/bin/chromium"
    assert [c[1] for c in ran] == ["install", "update", "install"]
    assert "-qq" in ran[0] and "chromium" in ran[0]


def test_without_root_it_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None
    )
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    assert browser.ensure_chromium(lambda command: 0).startswith("missing: install")
