"""Every service has the same shape, and the code agrees with its map.

A reader who knows one service knows them all: each registered service is built the same way
(``definition(settings, dependencies(settings))``), wires exactly the events the registry gives
it, has one use case for each of its commands, keeps the same rooms (``ROOMS``, the shape
written down once) and leaves SQL to its store. The import rules (services never import one
another, domains are plain Python) are ``lms_cli.import_rules``, checked by ``lms test``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lms_cli.architecture import DOC, render
from servicekit.registry import NAMES, ServiceSpec, service
from servicekit.service import ServiceDefinition

ROOT = Path(__file__).resolve().parents[1]


def source(spec: ServiceSpec) -> Path:
    return ROOT / "services" / spec.name / "src" / spec.package


@cache
def definition(name: str) -> ServiceDefinition[Any, Any]:
    main = service(name).main()
    settings = main.Settings()
    return main.definition(settings, main.dependencies(settings))


def runs_use_cases(spec: ServiceSpec) -> bool:
    """Commands through the runner; the other kind applies a projection (reporting)."""
    return definition(spec.name).projection is None


def every(spec: ServiceSpec) -> bool:
    return True


def producer(spec: ServiceSpec) -> bool:
    return spec.produces


def consumer(spec: ServiceSpec) -> bool:
    return bool(spec.consumes)


@dataclass(frozen=True)
class Room:
    path: str
    job: str
    kept_by: Callable[[ServiceSpec], bool] = every


ROOMS = (
    Room("main.py", "composition root: Settings, dependencies, definition, app; MIGRATIONS"),
    Room("settings.py", "one pydantic-settings class"),
    Room("dependencies.py", "the clock, plus the service's senders, stores and caches"),
    Room("domain/__init__.py", "plain Python: no framework, no wire, no plumbing"),
    Room("domain/model.py", "the service's model"),
    Room("domain/errors.py", "the domain's refusals"),
    Room("domain/commands.py", "what callers ask of the service (imperative)", runs_use_cases),
    Room("domain/events.py", "what happened (past tense), to be published", producer),
    Room("usecases.py", "the use cases and the one table of what handles what"),
    Room("api/dependencies.py", "typed FastAPI aliases for the runtime and the runner"),
    Room("api/refusals.py", "REFUSALS: each domain error as a problem"),
    Room("events/inbound.py", "the one subscription list: contract event -> command", consumer),
    Room("events/outbound.py", "domain event -> contract events", producer),
    Room("store/tables.py", "the SQLAlchemy tables, plumbing tables included"),
    Room("store/unit_of_work.py", "the write side the use cases call", runs_use_cases),
    Room("store/queries.py", "the read side the routes need"),
)
# module names that say nothing about what is in them
VAGUE = {"utils", "helpers", "common", "misc", "core", "edge"}
# what the runner and the refusal tables do, done by hand
BY_HAND = {"flush_events", "domain_problem", "idempotent", "in_transaction"}
# query builders: a route that needs one has a query that belongs in store/queries.py
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_"}


def test_every_service_folder_is_registered_and_every_registered_service_has_one() -> None:
    folders = sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir())
    assert folders == sorted(NAMES)
    for name in NAMES:
        assert source(service(name)).is_dir(), f"services/{name}/src/{name}/"


def test_the_event_map_in_the_architecture_doc_is_current() -> None:
    text = DOC.read_text()
    assert render(text) == text, "docs/architecture.md is stale: run python -m lms_cli.architecture"


@pytest.mark.parametrize("name", NAMES)
def test_each_service_is_built_from_its_settings_and_dependencies(name: str) -> None:
    spec = service(name)
    main = spec.main()
    assert Path(main.MIGRATIONS).is_dir()
    assert list(inspect.signature(main.dependencies).parameters) == ["settings"]
    assert list(inspect.signature(main.definition).parameters) == ["settings", "deps"]
    app = inspect.signature(main.app).parameters
    assert [(p.name, p.default) for p in app.values()] == [("settings", None), ("deps", None)]
    built = definition(name)
    assert built.spec is spec
    assert isinstance(built.settings, main.Settings)


@pytest.mark.parametrize("name", NAMES)
def test_each_service_handles_exactly_the_events_its_durable_consumer_receives(
    name: str,
) -> None:
    spec, built = service(name), definition(name)
    handled = built.projection.rules if built.projection else built.inbound
    assert set(handled) == set(spec.consumes)
    if spec.consumes:
        inbound = importlib.import_module(f"{spec.package}.events.inbound")
        table = getattr(inbound, "PROJECTION", None) or getattr(inbound, "INBOUND", None)
        assert table in (built.projection, built.inbound), (
            "events/inbound.py holds the one subscription list the service runs"
        )


def command_classes(module: ModuleType) -> tuple[set[type], set[type]]:
    """(commands, parts): the classes of ``domain/commands.py``, and those of them that are a
    field of another command (a question of an assessment, a row of an import)."""
    classes = {c for _, c in inspect.getmembers(module, inspect.isclass)}
    classes = {c for c in classes if c.__module__ == module.__name__}
    parts = {
        part
        for command in classes
        if dataclasses.is_dataclass(command)
        for field in dataclasses.fields(command)
        for part in classes
        if part is not command and re.search(rf"\b{part.__name__}\b", str(field.type))
    }
    return classes, parts


@pytest.mark.parametrize("name", NAMES)
def test_each_command_has_exactly_one_use_case(name: str) -> None:
    spec, built = service(name), definition(name)
    if not (source(spec) / "domain" / "commands.py").exists():
        assert not built.handlers, "use cases handle commands of domain/commands.py"
        return
    classes, parts = command_classes(importlib.import_module(f"{spec.package}.domain.commands"))
    handled = set(built.handlers)
    unhandled = sorted(c.__name__ for c in classes - parts - handled)
    foreign = sorted(c.__name__ for c in handled - classes)
    assert unhandled == [], f"commands without a use case in the handler table: {unhandled}"
    assert foreign == [], f"handled types that are not commands of the domain: {foreign}"


@pytest.mark.parametrize("name", NAMES)
def test_each_service_has_the_same_rooms(name: str) -> None:
    spec = service(name)
    expected = {room.path for room in ROOMS if room.kept_by(spec)}
    missing = sorted(path for path in expected if not (source(spec) / path).is_file())
    assert missing == [], f"{name} lacks {missing} (see ROOMS for what each one does)"


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("name", NAMES)
def test_routes_leave_sql_to_the_store(name: str) -> None:
    spec = service(name)
    offending = []
    for path in modules(source(spec) / "api"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            imported = {alias.name for alias in node.names}
            if node.module.startswith("sqlalchemy") and imported & QUERY_BUILDERS:
                offending.append(f"{path.name}: {sorted(imported & QUERY_BUILDERS)}")
            if node.module.endswith("store.tables"):
                offending.append(f"{path.name}: tables")
    assert offending == [], "routes read through store/queries.py"


@pytest.mark.parametrize("name", NAMES)
def test_the_runner_alone_flushes_events_and_refusals_come_from_the_table(name: str) -> None:
    defined = [
        f"{path.relative_to(source(service(name)))}: {node.name}"
        for path in modules(source(service(name)))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in BY_HAND
    ]
    assert defined == []


def test_no_module_is_named_for_nothing_in_particular() -> None:
    folders = [ROOT / "contracts", ROOT / "libs", ROOT / "cli", ROOT / "bench", ROOT / "services"]
    vague = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in modules(folder)
        if (path.stem if path.stem != "__init__" else path.parent.name) in VAGUE
    ]
    assert vague == []
