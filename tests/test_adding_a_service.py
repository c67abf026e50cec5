"""docs/adding-a-service.md is true: the places it says adding a service touches are the only
files, outside a service's own folders, that name every registered service; the count it
gives is its table's; and the files it says are generated are the ones the generator writes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from lms_cli.architecture import DOC as ARCHITECTURE
from lms_cli.generated import BLOCKS
from servicekit.registry import NAMES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adding-a-service.md"
# local state, caches and build output: never part of the repository
LOCAL = {
    ".git",
    ".venv",
    ".tools",
    ".lms",
    ".hypothesis",
    "bench-results",
    "__pycache__",
    "node_modules",
}
# a service's own folders, where its name is everywhere by design
OWN = ("services/{name}", "deploy/k8s/base/{name}")
WITHOUT_WIRING = "What names every service without wiring it"


def repository_files() -> Iterator[Path]:
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in LOCAL and not d.endswith("_cache")]
        for name in names:
            yield Path(folder) / name


def own(path: str) -> bool:
    folders = [pattern.format(name=name) for pattern in OWN for name in NAMES]
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


@cache
def naming_every_service() -> frozenset[str]:
    found = set()
    for path in repository_files():
        relative = path.relative_to(ROOT).as_posix()
        if own(relative):
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if all(re.search(rf"\b{name}\b", text) for name in NAMES):
            found.add(relative)
    return frozenset(found)


def section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def places(title: str) -> list[str]:
    """The paths a section lists: first cells of its table rows, or its list items."""
    rows = re.findall(r"^\| (?:\d+ \| )?`([^`]+)`", section(title), re.M)
    items = re.findall(r"^- `([^`]+)`", section(title), re.M)
    return [p.rstrip("/") for p in rows + items]


def test_every_file_that_names_every_service_is_written_down() -> None:
    edited = [p for p in places("What you edit") if "<name>" not in p]
    written_down = {*edited, *places("What you regenerate"), *places(WITHOUT_WIRING)}
    assert sorted(naming_every_service() - written_down) == [], (
        "these files list every service: read the list from servicekit.registry instead, "
        "generate them (lms_cli.generated), or write them down in docs/adding-a-service.md"
    )


def test_the_places_edited_and_generated_name_every_service() -> None:
    wiring = {*places("What you edit"), *places("What you regenerate")}
    wiring = {p for p in wiring if "<name>" not in p}
    assert sorted(wiring - naming_every_service()) == []
    # prose may lag behind a new service, but not name files that are gone
    assert [p for p in places(WITHOUT_WIRING) if not (ROOT / p).is_file()] == []


def test_the_count_of_places_edited_by_hand_is_the_tables() -> None:
    stated = re.search(r"touches \*\*(\d+)\*\* places by hand", section("What you edit"))
    assert stated is not None
    assert int(stated[1]) == len(places("What you edit")) == 3


def test_the_generated_files_are_the_ones_the_generator_and_uv_write() -> None:
    generated = {block.path for block in BLOCKS}
    generated |= {ARCHITECTURE.relative_to(ROOT).as_posix(), "uv.lock"}
    assert set(places("What you regenerate")) == generated


def test_every_registered_service_has_the_folders_the_doc_names() -> None:
    for place in places("What you edit"):
        if "<name>" in place:
            missing = [n for n in NAMES if not (ROOT / place.replace("<name>", n)).is_dir()]
            assert missing == [], f"{place}: missing for {missing}"
