"""Rendering the dashboard's pages: Jinja templates in Bahasa Indonesia, texts from the
message catalogs (context ``dashboard``), numbers as Indonesians write them, and a policy that
lets a page load only its own stylesheet and post only to its own service."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal, format_percent
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from servicekit.i18n import text

HERE = Path(__file__).parent
LANGUAGE = "id"  # the dashboard is for Indonesian coordinators (ADR 19, ADR 23)
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STYLESHEET = HERE / "static" / "dashboard.css"


def t(key: str, **params: Any) -> str:
    """A dashboard text from the catalog (its key when the catalog lacks it, visibly)."""
    return text("dashboard", key, LANGUAGE, **params) or key


def number(value: float | None, decimals: int = 2) -> str:
    """``1.234``, ``66,67``; a dash for nothing."""
    if value is None:
        return "-"
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LANGUAGE)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(fraction: float | None) -> str:
    """``66,67%``; a dash when there is nothing to divide."""
    if fraction is None:
        return "-"
    return format_percent(fraction, format="#,##0.##%", locale=LANGUAGE)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals |= {"t": t, "number": number, "percent": percent, "rate": rate}
    return env


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = environment().get_template(template).render(**context)
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Content-Security-Policy": PAGE_POLICY, "Content-Language": LANGUAGE},
    )
