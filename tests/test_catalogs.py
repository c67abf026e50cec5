"""Nothing a person reads can slip in English only: every refusal of every service's REFUSALS
table, every validation error type of our own and the pydantic errors people commonly meet
have a text in the Bahasa Indonesia and the English catalogs, and no rule a field broke is
written as an English sentence with values already in it."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicekit.i18n import SUPPORTED, text
from servicekit.problems import Refusal, Refusals
from servicekit.registry import SERVICES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    *ROOT.glob("services/*/src/**/*.py"),
    *ROOT.glob("libs/servicekit/src/**/*.py"),
    *ROOT.glob("contracts/src/**/*.py"),
]
# pydantic's own error types that people meet on the APIs' bodies, queries and paths
COMMON_PYDANTIC = {
    "missing",
    "extra_forbidden",
    "string_type",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "string_unicode",
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "bool_parsing",
    "bool_type",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
    "finite_number",
    "enum",
    "literal_error",
    "uuid_parsing",
    "uuid_type",
    "uuid_version",
    "datetime_parsing",
    "datetime_type",
    "datetime_from_date_parsing",
    "date_parsing",
    "date_type",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "time_parsing",
    "time_type",
    "timezone_aware",
    "timezone_naive",
    "list_type",
    "too_short",
    "too_long",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "json_invalid",
    "json_type",
    "url_parsing",
    "url_scheme",
    "url_type",
    "url_too_long",
    "union_tag_invalid",
    "union_tag_not_found",
    "decimal_parsing",
    "value_error",
}


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def refusals() -> Iterator[tuple[str, type[Exception], Refusal]]:
    for spec in SERVICES:
        table: Refusals = importlib.import_module(f"{spec.package}.api.refusals").REFUSALS
        yield spec.name, table.base, table.default
        for error, refusal in table.table.items():
            yield spec.name, error, refusal


def names_a_field(error: type[Exception], refusal: Refusal) -> bool:
    own = "field" in inspect.signature(error.__init__).parameters or hasattr(error, "field")
    return bool(refusal.field) or own


def speaks_for_itself(error: type[Exception]) -> bool:
    """An error that carries the English rule its field broke (``message``)."""
    return "message" in inspect.signature(error.__init__).parameters


def missing(context: str, key: str) -> list[str]:
    return [language for language in SUPPORTED if text(context, key, language) is None]


def test_the_walk_sees_every_service_and_what_each_refuses() -> None:
    walked = list(refusals())
    assert {service for service, _, _ in walked} == {spec.name for spec in SERVICES}
    codes = {refusal.code for _, _, refusal in walked}
    assert {"bulk_job_too_large", "course_code_taken", "unknown_version"} <= codes
    assert {"enrollment_closed", "invalid_endpoint_url", "paper_outdated"} <= codes
    assert {"region_code", "unknown_region", "control_character"} <= validation_types()


def test_every_refusal_of_every_service_has_its_texts_in_both_languages() -> None:
    absent = []
    for service, error, refusal in refusals():
        where = f"{service}: {error.__name__}"
        absent += [
            f"{where}: problem {refusal.code} ({lang})" for lang in missing("problem", refusal.code)
        ]
        if not names_a_field(error, refusal):
            continue  # the detail, by code, is all it says
        if refusal.detail:
            absent += [
                f"{where}: field {refusal.detail!r} ({lang})"
                for lang in missing("field", refusal.detail)
            ]
        elif not speaks_for_itself(error):
            absent.append(f"{where}: names a field but gives no rule (Refusal detail=...)")
    assert absent == []


def raised_rules() -> Iterator[tuple[str, ast.expr]]:
    """The English rule of each error that carries one, where it is raised."""
    carriers = {
        error.__name__: list(inspect.signature(error.__init__).parameters).index("message") - 1
        for _, error, refusal in refusals()
        if names_a_field(error, refusal) and not refusal.detail and speaks_for_itself(error)
    }
    assert {"InvalidField", "InvalidLesson", "InvalidEndpointUrl"} <= set(carriers)
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) in carriers:
                position = carriers[_name(node.func)]
                found = next((k.value for k in node.keywords if k.arg == "message"), None)
                if found is None and len(node.args) > position:
                    found = node.args[position]
                if found is not None:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", found


def test_every_rule_an_error_carries_is_a_template_in_both_catalogs() -> None:
    rules = list(raised_rules())
    assert len(rules) > 30
    absent = []
    for where, rule in rules:
        if not (isinstance(rule, ast.Constant) and isinstance(rule.value, str)):
            absent.append(f"{where}: not a constant template: {ast.unparse(rule)}")
            continue
        absent += [f"{where}: {rule.value!r} ({lang})" for lang in missing("field", rule.value)]
    assert absent == []


def validation_types() -> set[str]:
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) == "PydanticCustomError":
                kind = node.args[0]
                assert isinstance(kind, ast.Constant), f"{path}:{node.lineno}: a constant type"
                found.add(kind.value)
    return found


@pytest.mark.parametrize("kind", sorted(validation_types() | COMMON_PYDANTIC))
def test_every_validation_error_type_has_its_text_in_both_languages(kind: str) -> None:
    assert missing("validation", kind) == []


def test_no_validator_of_the_apis_raises_a_bare_value_error() -> None:
    """pydantic would show its English text ("Value error, ..."): a validator raises
    ``PydanticCustomError`` with a type the catalogs translate."""
    edges = [
        *ROOT.glob("services/*/src/*/api/*.py"),
        ROOT / "libs/servicekit/src/servicekit/fields.py",
    ]
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in edges
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and _name(node.exc.func) in ("ValueError", "AssertionError")
    ]
    assert bare == []


def test_no_rule_a_field_broke_is_an_english_sentence_with_values_in_it() -> None:
    """An error's ``message`` is a catalog key; values go in ``params``."""
    built = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "message" and _built(value):
                    built.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert built == []


def _built(node: ast.expr) -> bool:
    formatted = isinstance(node, ast.Call) and _name(node.func) == "format"
    return isinstance(node, ast.JoinedStr | ast.BinOp) or formatted
