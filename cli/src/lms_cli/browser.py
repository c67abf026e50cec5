"""The browser the dashboard's tests drive: Debian's ``chromium`` (Playwright's own browser
download is not used). ``lms test`` installs it when it is missing and it can."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

NAMES = ("chromium", "chromium-browser")
PACKAGE = "chromium"
Run = Callable[[list[str]], int]


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _quietly(command: list[str]) -> int:
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    ).returncode


def ensure_chromium(run: Run = _quietly) -> str:
    """Chromium's path, installed with apt-get first if it is missing (as root on Debian,
    refreshing the package lists only when the first try fails); what happened, in words,
    when it is still missing."""
    found = find_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "missing: install Debian's chromium (apt-get install chromium) as root"
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE]
    if run(install) != 0:
        run(["apt-get", "update", "-qq"])
        run(install)
    return find_chromium() or "missing: apt-get could not install chromium"
