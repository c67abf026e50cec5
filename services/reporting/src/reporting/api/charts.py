"""The weekly trend as an SVG drawn on the server: no script, nothing loaded from elsewhere,
and it scales to the width of a phone (a view box, no fixed size)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from servicekit.indonesian import MONTHS

from ..store.officials import Week
from .pages import number, t

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 480, 210, 40, 30, 12
ENROLLED, COMPLETED = "#1565c0", "#2e7d32"


def _label(week: Week) -> str:
    return f"{week.starts_on.day} {MONTHS[week.starts_on.month - 1][:3]}"


def weekly_trend_svg(weeks: Sequence[Week]) -> str:
    """Bars per week: new enrollments and completions side by side, with the week's counts in
    each bar's title (a tap or a hover shows them)."""
    top = max([1, *(w.enrolled for w in weeks), *(w.completed for w in weeks)])
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(1, len(weeks))
    bar = slot * 0.36
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#888" stroke-width="1"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" font-size="14" text-anchor="end">'
        f"{number(top, 0)}</text>",
        f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" font-size="14" text-anchor="end">0</text>',
    ]
    for index, week in enumerate(weeks):
        x = LEFT + index * slot + slot * 0.12
        label = html.escape(_label(week))
        for offset, value, colour, name in (
            (0.0, week.enrolled, ENROLLED, t("trend_enrolled")),
            (bar, week.completed, COMPLETED, t("trend_completed")),
        ):
            height = plot_height * value / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{label}: {html.escape(name)} {number(value, 0)}</title></rect>"
            )
        if index % 2 == 0:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="14" '
                f'text-anchor="middle">{label}</text>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart" aria-label="{html.escape(t("chart_label"))}">{"".join(parts)}</svg>'
    )
