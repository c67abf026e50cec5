"""The container image keeps its promises, read from deploy/Dockerfile (no Docker engine is
needed): a pinned base, a multi-stage build whose final stage has no build tools, the lock file
honoured, a non-root user, and a build context without local state."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from servicekit.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BASE_IMAGE = "python:3.11.7-slim-bookworm"


def instructions() -> list[str]:
    """Dockerfile instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def stages() -> list[list[str]]:
    found: list[list[str]] = []
    for line in instructions():
        if line.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_build_is_multi_stage_on_a_pinned_base() -> None:
    froms = [stage[0].split() for stage in stages()]
    assert len(froms) >= 2
    for words in froms:
        assert words[1] == BASE_IMAGE, "every stage starts from the pinned base"
        assert len(words) == 4 and words[2].upper() == "AS"


def test_builder_installs_the_pinned_uv_and_honours_the_lock() -> None:
    """Only the lms command and what it needs: no development tools, benchmark or servers."""
    builder = stages()[0]
    assert any("pip install uv==0.13.8" in line for line in builder)
    syncs = [sync for line in builder for sync in re.findall(r"uv sync[^&;]*", line)]
    assert syncs and all(
        "--frozen" in s and "--no-dev" in s and "--package lms-cli" in s for s in syncs
    )
    assert any("--no-install-workspace" not in s for s in syncs), (
        "the workspace itself is installed"
    )


def test_final_stage_runs_lms_as_a_non_root_user_without_build_tools() -> None:
    final = stages()[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets a USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    text = " ".join(final)
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "pip install", "uv sync"):
        assert tool not in text, f"{tool} in the final stage"
    assert re.search(r"COPY --from=builder\S* /app /app", text), (
        "sources and .venv from the builder"
    )
    assert 'ENTRYPOINT ["lms"]' in final


def test_build_context_leaves_out_local_state() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".tools", ".git", ".lms", "bench-results"} <= ignored
    assert "uv.lock" not in ignored and "pyproject.toml" not in ignored


def test_the_image_installs_every_service_folder_without_naming_one() -> None:
    """Adding a service needs no edit here: the builder copies every services/*/pyproject.toml
    and installs lms-<folder> for each folder of services/, which is exactly the registry."""
    builder = stages()[0]
    copies = [line for line in builder if line.upper().startswith("COPY --PARENTS ")]
    assert any("services/*/pyproject.toml" in line.split() for line in copies)
    syncs = [sync for line in builder for sync in re.findall(r"uv sync.*", line)]
    package_of_each_folder = (
        'for service in services/*/; do echo "--package lms-$(basename "$service")"'
    )
    assert syncs and all(package_of_each_folder in sync for sync in syncs)
    folders = sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir())
    assert folders == sorted(spec.name for spec in SERVICES)
    for spec in SERVICES:
        project = tomllib.loads((ROOT / "services" / spec.name / "pyproject.toml").read_text())
        assert project["project"]["name"] == spec.project
    named = [spec.name for spec in SERVICES if re.search(rf"\b{spec.name}\b", " ".join(builder))]
    assert named == [], "the build steps name no service"
