"""Every string a client can send is constrained in the OpenAPI document: a pattern (which
refuses control characters, servicekit.fields), an enum, or a format the server parses
strictly (uuid, date-time), or a file whose content the route parses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from servicekit.registry import NAMES
from servicekit.registry import service as registered

STRICT_FORMATS = {"uuid", "date-time", "date", "time", "email", "binary", "duration"}


def openapi(service: str) -> dict[str, Any]:
    main = registered(service).main()
    return main.app(main.Settings()).openapi()


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def loose_strings(
    document: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]
) -> Iterator[str]:
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from loose_strings(document, option, where, seen)
    if schema.get("type") == "string":
        constrained = {"pattern", "enum", "const", "contentMediaType"} & schema.keys()
        if not (constrained or schema.get("format") in STRICT_FORMATS):
            yield where
    for name, prop in schema.get("properties", {}).items():
        yield from loose_strings(document, prop, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from loose_strings(document, schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from loose_strings(document, schema["additionalProperties"], f"{where}{{}}", seen)


def inputs(service: str) -> Iterator[str]:
    document = openapi(service)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from loose_strings(
                    document, parameter["schema"], f"{route} {parameter['name']}", set()
                )
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from loose_strings(document, media["schema"], f"{route} body", set())


@pytest.mark.parametrize("service", NAMES)
def test_every_string_a_client_sends_is_constrained(service: str) -> None:
    assert sorted(set(inputs(service))) == []
