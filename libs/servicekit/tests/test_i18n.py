"""Everything people read is in the catalogs, in Bahasa Indonesia and English: a walk over the
services' code finds every problem code, field rule and refusal of an offline item, and the
catalogs must have a text for each; the language follows Accept-Language."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from lms_contracts import Position
from servicekit.i18n import (
    SUPPORTED,
    LanguageContext,
    catalog,
    negotiate,
    position_name,
    speaking,
    text,
    validation_message,
)
from servicekit.problems import Problem, install_problem_handlers

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("libs/servicekit/src/**/*.py")]
# where a problem's code is given: the call and the position of its code argument
CODE_ARGUMENT = {
    "Problem": 1,
    "field_problem": 2,
    "Refusal": 1,
    "problem_response": 1,
    "_refused": 0,
}
# raised by Starlette and FastAPI themselves; the handler names them by their status
HTTP_CODES = {"bad_request", "not_found", "method_not_allowed", "unsupported_media_type"}
FIELD_RULE = {
    "InvalidField": 1,
    "InvalidLesson": 1,
    "InvalidRule": 1,
    "field_problem": 1,
    "field_message": 0,
}


def _calls(name_to_position: dict[str, int]) -> list[tuple[str, ast.expr | None, ast.Call]]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in name_to_position:
                position = name_to_position[name]
                argument = node.args[position] if len(node.args) > position else None
                keyword = next((k.value for k in node.keywords if k.arg == "code"), None)
                found.append((name, keyword or argument, node))
    return found


def problem_codes() -> set[str]:
    codes = set(HTTP_CODES) | {"invalid_field"}  # field_problem's default
    for _, argument, _ in _calls(CODE_ARGUMENT):
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            codes.add(argument.value)
    for path in SOURCES:  # codes passed on by name: ``changed_code="package_changed"``
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and (node.arg or "").endswith("_code"):
                codes |= _code_constant(node.value)
            if isinstance(node, ast.arguments):
                named = node.args[len(node.args) - len(node.defaults) :] + node.kwonlyargs
                defaults = list(node.defaults) + [d for d in node.kw_defaults if d is not None]
                for arg, default in zip(named, defaults, strict=False):
                    codes |= _code_constant(default) if arg.arg.endswith("code") else set()
    return codes


def _code_constant(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} if re.fullmatch(r"[a-z_]+", node.value) else set()
    return set()


def field_rules() -> set[str]:
    return {
        argument.value
        for _, argument, _ in _calls(FIELD_RULE)
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str)
    }


def sync_codes() -> set[str]:
    """The codes an offline lesson completion is refused with (content's plan_sync)."""
    model = ROOT / "services/content/src/content/domain/model.py"
    function = next(
        n
        for n in ast.walk(ast.parse(model.read_text()))
        if isinstance(n, ast.FunctionDef) and n.name == "_rejection"
    )
    return {
        node.value.elts[0].value
        for node in ast.walk(function)
        if isinstance(node, ast.Return)
        and isinstance(node.value, ast.Tuple)
        and isinstance(node.value.elts[0], ast.Constant)
    }


def test_the_walk_finds_the_problems_it_is_meant_to_find() -> None:
    codes = problem_codes()
    assert {"unknown_course", "ranges_overlap", "package_changed", "paper_outdated"} <= codes
    assert {"validation_failed", "database_unavailable", "rate_limited"} <= codes
    assert len(codes) > 55
    assert "is before the paper was issued" in field_rules()
    assert sync_codes() == {
        "completed_at_in_future",
        "unknown_course",
        "not_enrolled",
        "lesson_not_in_version",
    }


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_problem_code_the_apis_can_return_has_a_text(language: str) -> None:
    missing = sorted(c for c in problem_codes() if text("problem", c, language) is None)
    assert missing == [], f"no {language} text for problem codes {missing}"


def test_every_field_rule_and_refused_offline_item_has_an_indonesian_text() -> None:
    missing = sorted(r for r in field_rules() if text("field", r, "id") is None)
    assert missing == [], f"no Indonesian text for field rules {missing}"
    assert all(text("sync", c, "id") for c in sync_codes())


def test_both_catalogs_fill_the_same_placeholders_and_nothing_is_fuzzy() -> None:
    def placeholders(message: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(message) if name}

    english, indonesian = catalog("en"), catalog("id")
    for message in indonesian:
        if not message.id or message.context == "position":
            continue
        assert not message.fuzzy and message.string, message.id
        other = english.get(message.id, context=message.context)
        assert other is not None, f"{message.context}/{message.id} has no English text"
        assert placeholders(str(other.string)) == placeholders(str(message.string)), message.id


def test_every_position_has_its_official_indonesian_title() -> None:
    assert {position_name(p) for p in Position} == {
        "Kepala Desa",
        "Sekretaris Desa",
        "Kepala Urusan Tata Usaha dan Umum",
        "Kepala Urusan Keuangan",
        "Kepala Urusan Perencanaan",
        "Kepala Seksi Pemerintahan",
        "Kepala Seksi Kesejahteraan",
        "Kepala Seksi Pelayanan",
        "Kepala Dusun",
        "Anggota Badan Permusyawaratan Desa",
    }
    with speaking("en"):
        assert position_name("kaur_keuangan") == "Kepala Urusan Keuangan"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "id"),
        ("", "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("en;q=0.5, id;q=0.9", "id"),
        ("in", "id"),  # the old code some phones still send
        ("fr, de;q=0.5", "id"),
        ("fr, en;q=0.1", "en"),
        ("en;q=0, id;q=0", "id"),
        ("*", "id"),
        ("en;q=abc", "id"),
    ],
)
def test_the_language_is_the_supported_one_the_client_prefers_most(
    header: str | None, language: str
) -> None:
    assert negotiate(header) == language


def test_numbers_in_texts_are_written_as_each_language_writes_them() -> None:
    params = {"content_bytes": 1_234_567, "budget_bytes": 1_000_000}
    assert "1.234.567 byte" in (text("problem", "course_over_budget", "id", **params) or "")
    assert "1,234,567 bytes" in (text("problem", "course_over_budget", "en", **params) or "")


class Village(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)
    learners: int = Field(ge=0)


def probe_app() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/villages")
    async def create(body: Village) -> None:
        raise Problem(
            413,
            "batch_too_large",
            "items: at most 500 items per sync",
            errors=[{"field": "items", "message": "too long"}],
            max_items=500,
        )

    app.add_middleware(LanguageContext)
    return TestClient(app)


def test_problems_speak_the_requested_language_with_their_codes_unchanged() -> None:
    client = probe_app()
    body = {"name": "Towua", "learners": 3}
    indonesian = client.post("/villages", json=body)
    english = client.post("/villages", json=body, headers={"Accept-Language": "en-GB"})
    assert indonesian.json()["code"] == english.json()["code"] == "batch_too_large"
    assert indonesian.json()["detail"] == (
        "Paling banyak 500 butir per sinkronisasi; kirim sisanya pada kiriman berikutnya."
    )
    assert english.json()["detail"] == (
        "At most 500 items per sync; send the rest in another batch."
    )
    assert indonesian.json()["errors"] == [{"field": "items", "message": "terlalu panjang"}]
    assert english.json()["errors"] == [{"field": "items", "message": "too long"}]
    assert indonesian.headers["content-language"] == "id"
    assert english.headers["content-language"] == "en"
    assert "accept-language" in english.headers["vary"].lower()


def test_validation_messages_are_translated_by_their_type() -> None:
    client = probe_app()
    bad = {"name": "T", "learners": -1, "extra": True}
    indonesian = client.post("/villages", json=bad).json()
    english = client.post("/villages", json=bad, headers={"Accept-Language": "en"}).json()
    assert indonesian["code"] == english["code"] == "validation_failed"
    assert {e["field"]: e["message"] for e in indonesian["errors"]} == {
        "name": "Paling sedikit 2 karakter.",
        "learners": "Paling kecil 0.",
        "extra": "Isian ini tidak dikenal.",
    }
    assert {e["field"]: e["message"] for e in english["errors"]}["name"] == (
        "At least 2 characters."
    )
    with speaking("en"):
        assert validation_message({"type": "no_such_type", "msg": "as pydantic says"}) == (
            "as pydantic says"
        )
