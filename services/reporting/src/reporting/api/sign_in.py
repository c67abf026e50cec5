"""Signing in to the dashboard and out of it.

Development and tests: a form where a token is pasted (refused in production). Production:
the OIDC provider's authorization-code flow (``oidc.py``). Either way the browser then holds
only the session cookie."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from servicekit.auth import Principal, Role, TokenVerifier
from servicekit.problems import Problem

from .dashboard import Looker
from .dependencies import ReportingRuntime, ServiceRuntime
from .pages import render, t
from .sessions import (
    SIGN_IN_COOKIE,
    close_session,
    csrf_matches,
    home_of,
    issue_sign_in,
    open_session,
    read_session,
    safe_next,
    sign_in_claims,
)

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
log = logging.getLogger(__name__)
NextPath = Annotated[str | None, Query(max_length=500)]
Nonce = Annotated[str, Form(max_length=64)]


def sign_in_page(
    request: Request, runtime: ReportingRuntime, next: str | None, message: str | None, status: int
) -> HTMLResponse:
    """The sign-in page; its form carries a nonce that its own short-lived cookie repeats."""
    settings = runtime.settings
    nonce = secrets.token_urlsafe(24) if settings.sign_in_by_pasted_token else ""
    page = render(
        "sign_in.html",
        status,
        session=None,
        csrf=None,
        next=safe_next(next),
        message=message,
        oidc=settings.oidc_configured,
        pasted=settings.sign_in_by_pasted_token,
        nonce=nonce,
    )
    if nonce:
        issue_sign_in(page, request, settings, runtime.clock(), nonce)
    return page


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request, runtime: ServiceRuntime, looker: Looker, next: NextPath = None
) -> Response:
    if looker is not None and looker.session is not None:
        return RedirectResponse(safe_next(next) or home_of(looker.principal), status_code=303)
    return sign_in_page(request, runtime, next, None, 200)


def coordinator(principal: Principal) -> bool:
    return principal.has(Role.ADMIN, Role.SUPERVISOR)


def signed_in(
    request: Request,
    runtime: ReportingRuntime,
    principal: Principal,
    expires_at: datetime | None,
    next: str | None,
) -> Response:
    response = RedirectResponse(safe_next(next) or home_of(principal), status_code=303)
    open_session(response, request, runtime.settings, principal, runtime.clock(), expires_at)
    response.delete_cookie(SIGN_IN_COOKIE, path="/dashboard")
    log.info("dashboard session opened")
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_with_token(
    request: Request,
    runtime: ServiceRuntime,
    token: Annotated[str, Form(max_length=8192)],
    nonce: Nonce = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Development sign-in: the pasted token becomes a session (production: 403)."""
    if not runtime.settings.sign_in_by_pasted_token:
        return sign_in_page(request, runtime, next, t("sign_in_production"), 403)
    if sign_in_claims(request, runtime.settings, nonce) is None:
        return sign_in_page(request, runtime, next, t("sign_in_stale"), 403)
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        principal = await verifier.verify(token.strip())
    except Problem:
        return sign_in_page(request, runtime, next, t("sign_in_refused"), 401)
    if not coordinator(principal):
        return sign_in_page(request, runtime, next, t("sign_in_role"), 403)
    return signed_in(request, runtime, principal, _expiry(token.strip()), next)


def _expiry(token: str) -> datetime | None:
    """The verified token's own expiry (read again, unverified: it was just verified)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return datetime.fromtimestamp(float(claims["exp"]), UTC)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


@router.post("/sign-out")
async def sign_out(
    request: Request,
    runtime: ServiceRuntime,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Closes the session; refused (403) without the session's CSRF token."""
    session = read_session(request, runtime.settings)
    if session is not None and not csrf_matches(runtime.settings, session, csrf):
        raise Problem(403, "csrf_failed", "the form's CSRF token does not match the session")
    response = sign_in_page(request, runtime, None, t("signed_out"), 200)
    close_session(response, request, runtime.settings)
    return response
