"""What people read, in Bahasa Indonesia or English, from message catalogs.

The texts live in gettext catalogs (``locale/<language>/LC_MESSAGES/messages.po``), read with
Babel when first needed: no compiled ``.mo`` files to build or to forget. Each message has a
context and a stable key: ``problem`` + a problem's ``code``, ``validation`` + a validation
error's type, ``field`` + the English text of a rule a field broke, ``position`` + a
position's code, and so on; placeholders (``{max_bytes}``) are filled from the problem's
members, numbers in the language's format (``1.048.576`` in Indonesian).

The language of a request is negotiated from ``Accept-Language`` (``LanguageContext``, one
ASGI middleware); without one it is Indonesian, the language of the people the platform is
for. Machine codes (``code``, ``status`` values, field names) never change with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("id", "en")
DEFAULT = "id"
_language: ContextVar[str] = ContextVar("language", default=DEFAULT)


def negotiate(header: str | None, default: str = DEFAULT) -> str:
    """The supported language the client prefers most (``q`` weights honoured)."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            # "in" is Indonesian's withdrawn ISO 639 code, still sent by old phones
            legacy = tag.lower() == "in" or tag.lower().startswith("in-")
            wanted.append((-weight, index, "id" if legacy else tag))
    preferred = [tag for _, _, tag in sorted(wanted) if tag != "*"]
    found = Locale.negotiate(preferred, list(SUPPORTED), sep="-") if preferred else None
    return str(found) if found else default


def current_language() -> str:
    return _language.get()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Run a block in ``language`` (workers and tests; requests get theirs from the header)."""
    token = _language.set(language if language in SUPPORTED else DEFAULT)
    try:
        yield
    finally:
        _language.reset(token)


class LanguageContext:
    """Every request speaks the language its ``Accept-Language`` asks for."""

    def __init__(self, app: ASGIApp, default: str = DEFAULT) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers") or [] if k == b"accept-language"), b"")
        with speaking(negotiate(header.decode("latin-1"), self.default)):
            await self.app(scope, receive, send)


@cache
def catalog(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


class _Params(dict[str, Any]):
    """Placeholders filled in the language's number format; a missing one stays visible."""

    def __init__(self, values: Mapping[str, Any], language: str) -> None:
        super().__init__(values)
        self.language = language

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "-" if value is None else value
        return format_decimal(value, locale=self.language)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def text(context: str, key: str, language: str | None = None, /, **params: Any) -> str | None:
    """The catalog's text for ``key`` in ``context``, or None when it has none."""
    language = language or current_language()
    message = catalog(language).get(key, context=context)
    if message is None or not message.string or message.fuzzy:
        return None
    return str(message.string).format_map(_Params(params, language))


def problem_detail(code: str, fallback: str, params: Mapping[str, Any]) -> str:
    """A problem's ``detail`` in the request's language, by its code."""
    return text("problem", code, **params) or fallback


def localized_problem(
    code: str, detail: str, members: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A problem's ``detail`` and ``errors`` in the request's language, and the header that
    says which: the detail by code, filled from the problem's members and its first field."""
    errors = members.get("errors") or []
    params = {k: v for k, v in members.items() if k not in ("errors", "headers")}
    if errors and "field" not in params:
        params["field"] = errors[0].get("field")
    translated = dict(members)
    if errors:
        translated["errors"] = [
            {**e, "message": field_message(str(e.get("message", "")))} for e in errors
        ]
    headers = dict(members.get("headers") or {})
    translated["headers"] = headers | {
        "Content-Language": current_language(),
        "Vary": "Accept-Language",
    }
    return problem_detail(code, detail, params), translated


def field_message(message: str, **params: Any) -> str:
    """A rule a field broke, in the request's language: ``message`` is its English text as
    the code states it (a template when ``params`` fill it)."""
    return text("field", message, **params) or message.format_map(_Params(params, "en"))


def validation_message(error: Mapping[str, Any]) -> str:
    """A pydantic validation error in the request's language, by its type."""
    context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int)}
    found = text("validation", str(error.get("type", "")), **context)
    return found or str(error.get("msg", "invalid"))


def position_name(position: str) -> str:
    """A village-government position by its official Indonesian title, in any language."""
    return text("position", position, "id") or position
