"""The dashboard's session: a signed, expiring, HttpOnly cookie that says who signed in, and
the CSRF token of the forms that change something (ADR 23).

The cookie holds the principal the sign-in verified (subject, roles, region), not the bearer
token: a stolen cookie opens the dashboard's pages until it expires and nothing in the APIs,
which keep taking bearer tokens only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Request, Response

from servicekit.auth import Principal, Role

from ..settings import ReportingSettings

COOKIE = "lms_dashboard"
SIGN_IN_COOKIE = "lms_sign_in"  # the sign-in form's own CSRF nonce, and the OIDC state
AUDIENCE = "lms-dashboard"
SIGN_IN_AUDIENCE = "lms-dashboard-sign-in"
SIGN_IN_MINUTES = 10


@dataclass(frozen=True)
class Session:
    principal: Principal
    session_id: str
    expires_at: datetime


def secure(request: Request, settings: ReportingSettings) -> bool:
    """Cookies are Secure on HTTPS, and always in production (behind a TLS ingress)."""
    return request.url.scheme == "https" or settings.environment == "prod"


def _set(
    response: Response,
    request: Request,
    settings: ReportingSettings,
    name: str,
    value: str,
    max_age: int,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/dashboard",
        httponly=True,
        secure=secure(request, settings),
        samesite="lax",
    )


def open_session(
    response: Response,
    request: Request,
    settings: ReportingSettings,
    principal: Principal,
    now: datetime,
    token_expires_at: datetime | None = None,
) -> None:
    """Sign ``principal`` in: the cookie lasts the session's minutes, or until the token it
    came from expires if that is sooner."""
    expires = now + timedelta(minutes=settings.dashboard_session_minutes)
    if token_expires_at is not None:
        expires = min(expires, token_expires_at)
    claims: dict[str, Any] = {
        "sub": principal.subject,
        "roles": sorted(principal.roles),
        "sid": secrets.token_urlsafe(16),
        "aud": AUDIENCE,
        "iat": now,
        "exp": expires,
    }
    if principal.region_code is not None:
        claims["region"] = principal.region_code
    if principal.learner_id is not None:
        claims["learner_id"] = str(principal.learner_id)
    value = jwt.encode(claims, settings.dashboard_session_key, algorithm="HS256")
    max_age = max(1, int((expires - now).total_seconds()))
    _set(response, request, settings, COOKIE, value, max_age)


def close_session(response: Response, request: Request, settings: ReportingSettings) -> None:
    response.delete_cookie(
        COOKIE, path="/dashboard", httponly=True, secure=secure(request, settings), samesite="lax"
    )


def read_session(request: Request, settings: ReportingSettings) -> Session | None:
    """The request's session, or None when it has none, or one expired, edited or forged."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 4096:
        return None
    try:
        claims = jwt.decode(
            value,
            settings.dashboard_session_key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "sid", "aud"]},
        )
        roles = frozenset(Role(role) for role in claims.get("roles", []))
        learner = claims.get("learner_id")
        principal = Principal(
            str(claims["sub"]),
            roles,
            uuid.UUID(learner) if learner else None,
            claims.get("region"),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return Session(principal, str(claims["sid"]), datetime.fromtimestamp(claims["exp"], UTC))


def csrf_token(settings: ReportingSettings, session_id: str) -> str:
    """The token a session's forms carry: derived from the session, so nothing is stored,
    and useless with any other session."""
    key = settings.dashboard_session_key.encode()
    return hmac.new(key, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: ReportingSettings, session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token(settings, session.session_id), sent)


def issue_sign_in(
    response: Response,
    request: Request,
    settings: ReportingSettings,
    now: datetime,
    nonce: str,
    **carried: str,
) -> None:
    """Keep the sign-in form's nonce (or the OIDC state) in a short-lived signed cookie with
    what the flow carries (where to go next, the PKCE verifier): a sign-in posted from
    another site, without the cookie, is refused."""
    claims = {
        "nonce": nonce,
        "aud": SIGN_IN_AUDIENCE,
        "exp": now + timedelta(minutes=SIGN_IN_MINUTES),
    } | carried
    value = jwt.encode(claims, settings.dashboard_session_key, algorithm="HS256")
    _set(response, request, settings, SIGN_IN_COOKIE, value, SIGN_IN_MINUTES * 60)


def sign_in_claims(
    request: Request, settings: ReportingSettings, nonce: str | None
) -> dict[str, Any] | None:
    """What ``issue_sign_in`` carried, if the request returns its nonce in time."""
    value = request.cookies.get(SIGN_IN_COOKIE)
    if not value or not nonce or len(value) > 4096:
        return None
    try:
        claims = jwt.decode(
            value, settings.dashboard_session_key, algorithms=["HS256"], audience=SIGN_IN_AUDIENCE
        )
    except jwt.PyJWTError:
        return None
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        return None
    return claims


def safe_next(value: str | None) -> str | None:
    """Where to go after signing in: a dashboard path of this service, nothing else."""
    if not value or len(value) > 500 or not value.startswith("/dashboard/"):
        return None
    if value.startswith("//") or "\\" in value or any(ord(ch) < 0x21 for ch in value):
        return None
    return value


def home_of(principal: Principal) -> str:
    """The page a signed-in coordinator starts from: their region's, or the nation's."""
    if principal.has(Role.ADMIN):
        return "/dashboard/national"
    return f"/dashboard/regions/{principal.region_code}"
