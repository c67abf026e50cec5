"""The monitoring dashboard: a region's numbers, filters, a way up and down the region tree,
a weekly trend, a village's officials, and the spreadsheets of what is shown. Signed in by
a session cookie (``api/sessions.py``); no token ever in a URL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import Field

from lms_contracts import Position
from servicekit.auth import Principal, current_principal
from servicekit.fields import LINE
from servicekit.i18n import position_name
from servicekit.indonesian import tanggal
from servicekit.problems import Problem

from ..domain.errors import UnknownRegion
from ..store import officials, queries
from .charts import weekly_trend_svg
from .dependencies import ReportingRuntime, ServiceRuntime
from .exports import (
    course_title,
    export_limit,
    learner_rows,
    learners_sheet,
    region_sheet,
    spreadsheet,
)
from .pages import STYLESHEET, number, percent, rate, render, t
from .reports import RegionCode, report
from .sessions import Session, csrf_token, home_of, read_session
from .sheets import zone_of

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
PERIODS = (7, 14, 30, 90)
CourseChoice = Annotated[str, Query(max_length=36, pattern=r"^([0-9a-fA-F-]{36})?$")]
# a region's code, or "national"
ExportCode = Annotated[
    str, Path(max_length=13, pattern=r"^(national|\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?)$")
]
TextChoice = Annotated[Annotated[str, Field(max_length=64), LINE], Query()]


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: Session | None = None


async def viewer(request: Request, runtime: ServiceRuntime) -> Viewer | None:
    """Who looks: the session's principal, or a bearer token's (scripts); None sends the
    browser to the sign-in page."""
    session = read_session(request, runtime.settings)
    if session is not None:
        return Viewer(session.principal, session)
    if "authorization" in request.headers:
        return Viewer(await current_principal(request))
    return None


Looker = Annotated[Viewer | None, Depends(viewer)]


@dataclass(frozen=True)
class PageFilters:
    filters: queries.Filters
    days: int

    def query(self, **extra: str) -> str:
        values = {
            "course_id": str(self.filters.course_id) if self.filters.course_id else None,
            "cohort": self.filters.cohort,
            "position": self.filters.position,
            "days": str(self.days),
        } | extra
        return urlencode({k: v for k, v in values.items() if v})


def page_filters(
    runtime: ServiceRuntime,
    course_id: CourseChoice = "",
    cohort: TextChoice = "",
    position: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")] = "",
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> PageFilters:
    """The filter form's fields (an empty one means "all")."""
    try:
        course = uuid.UUID(course_id) if course_id else None
    except ValueError as exc:
        raise Problem(
            422,
            "validation_failed",
            "course_id: not a course id",
            errors=[{"field": "course_id", "message": "not a course id"}],
        ) from exc
    chosen = queries.Filters(course, cohort or None, position or None)
    return PageFilters(chosen, days or runtime.settings.active_days)


Chosen = Annotated[PageFilters, Depends(page_filters)]


def sign_in_first(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/sign-in?{urlencode({'next': target})}", status_code=303)


def refused(looker: Viewer, runtime: ReportingRuntime, problem: Exception) -> HTMLResponse:
    status = 404 if isinstance(problem, UnknownRegion) else 403
    key = "unknown_region" if status == 404 else "outside_region"
    return render(
        "refused.html",
        status,
        message=t(key),
        home=home_of(looker.principal) if looker.principal.region_in_view is not None else None,
        **chrome(looker, runtime),
    )


def chrome(looker: Viewer, runtime: ReportingRuntime) -> dict[str, Any]:
    """What every signed-in page shows in its header: who, and the sign-out form's token."""
    if looker.session is None:
        return {"session": None, "csrf": None}
    return {
        "session": looker.session,
        "csrf": csrf_token(runtime.settings, looker.session.session_id),
    }


@router.get("", response_class=HTMLResponse)
async def dashboard_home(request: Request, looker: Looker) -> Response:
    if looker is None:
        return sign_in_first(request)
    return RedirectResponse(home_of(looker.principal), status_code=303)


@router.get("/static/dashboard.css")
async def stylesheet() -> Response:
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "max-age=3600"},
    )


@router.get("/national", response_class=HTMLResponse)
async def national_page(
    request: Request, runtime: ServiceRuntime, looker: Looker, chosen: Chosen
) -> Response:
    return await region_page(request, "", runtime, looker, chosen)


@router.get("/regions/{code}", response_class=HTMLResponse)
async def region_dashboard(
    request: Request, code: RegionCode, runtime: ServiceRuntime, looker: Looker, chosen: Chosen
) -> Response:
    return await region_page(request, code, runtime, looker, chosen)


async def region_page(
    request: Request, code: str, runtime: ReportingRuntime, looker: Viewer | None, chosen: Chosen
) -> Response:
    if looker is None:
        return sign_in_first(request)
    try:
        looker.principal.require_region(code)
        found = await report(runtime, code, chosen.filters, chosen.days)
    except (Problem, UnknownRegion) as problem:
        return refused(looker, runtime, problem)
    context = await page_context(runtime, looker.principal, found, chosen)
    return render("region.html", **context, **chrome(looker, runtime))


async def page_context(
    runtime: ReportingRuntime, principal: Principal, found: dict[str, Any], chosen: PageFilters
) -> dict[str, Any]:
    region = found["region"]
    code = "" if region["code"] == "national" else region["code"]
    village = region["level"] == "village"
    async with runtime.runner.read() as conn:
        ancestors = [code[:n] for n in (2, 5, 8) if len(code) > n]
        names = await officials.region_names(conn, ["", *ancestors])
        trend = await officials.weekly_trend(conn, code, chosen.filters, runtime.clock())
        courses = await officials.course_choices(conn)
        cohorts = await officials.cohort_choices(conn, code)
        people = (
            await officials.region_officials(conn, code, chosen.filters, 500) if village else []
        )
    query = chosen.query()
    crumbs = [
        {"name": names.get(c, c) if c else t("level_national"), "href": _href(c, query)}
        for c in ["", *ancestors]
        if principal.covers_region(c)
    ] + [{"name": region["name"], "href": None}]
    return {
        "region": region,
        "here": _href(code, ""),
        "crumbs": crumbs,
        "filters": found["filters"],
        "choices": {
            "courses": courses,
            "cohorts": cohorts,
            "positions": [(p.value, position_name(p.value)) for p in Position],
            "periods": sorted({*PERIODS, chosen.days}),
        },
        "kpis": kpis(found["totals"], chosen.days),
        "children": [child_row(child, query) for child in found["children"]],
        "trend_svg": Markup(weekly_trend_svg(trend)),
        "officials": official_rows(people, code) if village else None,
        "export_href": f"/dashboard/export/regions/{code or 'national'}?{query}",
        "learners_href": f"/dashboard/export/learners/{code or 'national'}?{query}",
    }


def _href(code: str, query: str) -> str:
    path = f"/dashboard/regions/{code}" if code else "/dashboard/national"
    return f"{path}?{query}" if query else path


def kpis(totals: dict[str, Any], days: int) -> list[tuple[str, str, str]]:
    return [
        ("registered", t("registered"), number(totals["registered"])),
        ("enrolled", t("enrolled"), number(totals["enrolled"])),
        ("active", t("active", days=days), number(totals["active"])),
        ("completed", t("completed"), number(totals["completed"])),
        ("post_test_taken", t("post_test_taken"), number(totals["post_test_taken"])),
        ("passed", t("passed"), number(totals["passed"])),
        ("failed", t("failed"), number(totals["failed"])),
        ("certified", t("certified"), number(totals["certified"])),
        ("revoked", t("revoked"), number(totals["revoked"])),
        (
            "completion_rate",
            t("completion_rate"),
            percent(rate(totals["completed"], totals["enrolled"])),
        ),
        ("pass_rate", t("pass_rate"), percent(pass_rate(totals))),
        ("avg_improvement", t("avg_improvement"), number(totals["avg_improvement"])),
    ]


def pass_rate(totals: dict[str, Any]) -> float | None:
    """Of those who took the post-test, the share who passed it."""
    return rate(totals["passed"], totals["post_test_taken"])


def child_row(child: dict[str, Any], query: str) -> dict[str, Any]:
    region, totals = child["region"], child["totals"]
    return {
        "code": region["code"],
        "name": region["name"],
        "href": _href(region["code"], query),
        "registered": number(totals["registered"]),
        "enrolled": number(totals["enrolled"]),
        "active": number(totals["active"]),
        "completed": number(totals["completed"]),
        "completion_rate": percent(rate(totals["completed"], totals["enrolled"])),
        "failed": number(totals["failed"]),
        "pass_rate": percent(pass_rate(totals)),
        "avg_improvement": number(totals["avg_improvement"]),
    }


def official_rows(rows: list[Any], code: str) -> list[dict[str, Any]]:
    zone = str(zone_of(code))
    shown = []
    for row, sheet_row in zip(rows, learner_rows(rows, code), strict=True):
        last = row.last_activity_at if row.course_id else row.learner_last_activity_at
        shown.append(
            {
                "full_name": row.full_name,
                "position_name": sheet_row["position"] or "-",
                "course_title": row.course_title or t("not_enrolled"),
                "progress": percent(sheet_row["progress"]),
                "pre_test": number(row.pre_test_score),
                "post_test": number(row.post_test_score),
                "status": sheet_row["status"] or "-",
                "last_activity": tanggal(last, zone) if last else "-",
            }
        )
    return shown


@router.get("/export/regions/{code}")
async def export_region_page(
    request: Request, code: ExportCode, runtime: ServiceRuntime, looker: Looker, chosen: Chosen
) -> Response:
    """What the region page shows, as XLSX, with the page's filters."""
    code = "" if code == "national" else code
    if looker is None:
        return sign_in_first(request)
    export_limit.take(request, looker.principal.subject)
    looker.principal.require_region(code)
    found = await report(runtime, code, chosen.filters, chosen.days)
    title = await course_title(runtime, chosen.filters.course_id)
    sheet = region_sheet(found, chosen.filters, title, runtime.clock())
    return spreadsheet(sheet, "xlsx", f"laporan-{code.replace('.', '') or 'nasional'}")


@router.get("/export/learners/{code}")
async def export_learners_page(
    request: Request, code: ExportCode, runtime: ServiceRuntime, looker: Looker, chosen: Chosen
) -> Response:
    """The region's officials with their scores and status, as XLSX."""
    code = "" if code == "national" else code
    if looker is None:
        return sign_in_first(request)
    export_limit.take(request, looker.principal.subject)
    looker.principal.require_region(code)
    sheet = await learners_sheet(runtime, code, chosen.filters, runtime.clock())
    return spreadsheet(sheet, "xlsx", f"peserta-{code.replace('.', '') or 'nasional'}")
