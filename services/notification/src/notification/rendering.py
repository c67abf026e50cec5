"""Jinja2 templates in Bahasa Indonesia: one folder per message kind, one file per channel.

Each ``templates/<kind>/`` holds ``title.txt`` and ``text.txt`` (the plain-text fallback every
channel can use) and, where a channel needs its own wording, ``inbox.txt``, ``email.txt``,
``email.html``, ``sms.txt`` or ``whatsapp.txt``. E-mail goes out as HTML with the plain text
as its alternative part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import jinja2

from servicekit.indonesian import tanggal

from .domain.model import Channel, Kind, Rendered

TEMPLATES = Path(__file__).parent / "templates"


def nilai(value: float | None) -> str:
    """A score with a decimal comma and no needless zeros: 85 or 72,5."""
    if value is None:
        return "-"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


class Renderer(Protocol):
    def render(self, kind: Kind, channel: Channel, context: dict[str, Any]) -> Rendered: ...


class TemplateRenderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        loader = jinja2.FileSystemLoader(directory)
        self.text = jinja2.Environment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.html = jinja2.Environment(
            loader=loader, undefined=jinja2.StrictUndefined, autoescape=True
        )
        for env in (self.text, self.html):
            env.filters["tanggal"] = tanggal
            env.filters["nilai"] = nilai
        self.directory = directory

    def _has(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def render(self, kind: Kind, channel: Channel, context: dict[str, Any]) -> Rendered:
        folder = kind.value
        title = self.text.get_template(f"{folder}/title.txt").render(context).strip()
        body_name = f"{folder}/{channel.value}.txt"
        if not self._has(body_name):
            body_name = f"{folder}/text.txt"
        text = self.text.get_template(body_name).render(context).strip()
        html = None
        if channel is Channel.EMAIL and self._has(f"{folder}/email.html"):
            html = self.html.get_template(f"{folder}/email.html").render(context).strip()
        return Rendered(title=title, text=text, html=html)
