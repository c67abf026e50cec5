"""Signing in to the dashboard through the OIDC provider (production): the authorization-code
flow with PKCE, ``state`` and ``nonce``, configured by the ``OIDC_*`` settings (ADR 23).

The provider sends the browser back with a code; the code is exchanged at its token endpoint
for an ID token, which is checked as OpenID Connect says a relying party checks it (the
provider's signature through the platform's JWKS, its issuer, this client as audience, this
sign-in's nonce) and whose claims (``roles``, ``region``) become the session. The access token
beside it is not read: to a client it may be opaque, and it is meant for the APIs.

Whatever goes wrong is an Indonesian page with a 4xx (a 502 when the provider cannot be
reached or answers nonsense), the one-use state cookie is cleared, and no session is opened."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote_plus, urlencode

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from servicekit.auth import TokenVerifier
from servicekit.problems import Problem

from ..settings import ReportingSettings
from .dependencies import ServiceRuntime
from .pages import t
from .sessions import SIGN_IN_COOKIE, issue_sign_in, safe_next, sign_in_claims
from .sign_in import NextPath, coordinator, sign_in_page, signed_in

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
log = logging.getLogger(__name__)


class Refused(Exception):
    """The sign-in cannot go on: the page's status and the catalog key of its message."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.message = status, message


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@router.get("/sign-in/oidc")
async def sign_in_with_provider(
    request: Request, runtime: ServiceRuntime, next: NextPath = None
) -> Response:
    """Off to the OIDC provider; it sends the browser back to ``OIDC_REDIRECT_URL``
    (``/dashboard/sign-in/callback``)."""
    settings = runtime.settings
    if not settings.oidc_configured:
        return sign_in_page(request, runtime, next, t("sign_in_unavailable"), 404)
    verifier, state, nonce = (secrets.token_urlsafe(n) for n in (48, 24, 24))
    carrier = RedirectResponse("/", status_code=303)
    issue_sign_in(
        carrier,
        request,
        settings,
        runtime.clock(),
        state,
        verifier=verifier,
        id_token_nonce=nonce,
        next=safe_next(next) or "",
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": settings.oidc_redirect_url,
            "scope": settings.oidc_scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    carrier.headers["location"] = f"{settings.oidc_authorization_url}?{query}"
    return carrier


@router.get("/sign-in/callback")
async def provider_callback(
    request: Request,
    runtime: ServiceRuntime,
    code: Annotated[str, Query(max_length=2048)] = "",
    state: Annotated[str, Query(max_length=64)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The provider's answer: this browser's state, then the code exchanged (with the PKCE
    verifier) for an ID token that is verified and becomes a session."""
    settings = runtime.settings
    carried = sign_in_claims(request, settings, state) if settings.oidc_configured else None
    try:
        if error:  # opens nothing whatever the state: said first (some providers drop state)
            raise Refused(403, "sign_in_denied", f"the provider answered {error!r}")
        if carried is None or "verifier" not in carried or not code:
            raise Refused(403, "sign_in_stale", "no sign-in of this browser has this state")
        verifier: TokenVerifier = request.app.state.token_verifier
        id_token = await _exchange(settings, code, carried["verifier"])
        try:
            principal, expires = await verifier.verify_id_token(
                id_token,
                client_id=str(settings.oidc_client_id),
                nonce=str(carried.get("id_token_nonce", "")),
            )
        except Problem as refused:
            raise Refused(401, "sign_in_account_refused", refused.detail) from refused
        if not coordinator(principal):
            raise Refused(403, "sign_in_role", "neither a supervisor nor an admin")
    except Refused as refused:
        log.warning("dashboard sign-in through the provider refused: %s", refused)
        page = sign_in_page(request, runtime, None, t(refused.message), refused.status)
        page.delete_cookie(SIGN_IN_COOKIE, path="/dashboard")
        return page
    expires_at = datetime.fromtimestamp(expires, UTC)
    return signed_in(request, runtime, principal, expires_at, carried.get("next"))


async def _exchange(settings: ReportingSettings, code: str, code_verifier: str) -> str:
    """The code for the provider's ID token, at its token endpoint (RFC 6749 4.1.3, the
    client authenticating as ``OIDC_CLIENT_AUTH`` says)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(settings.oidc_redirect_url),
        "code_verifier": code_verifier,
    }
    auth: httpx.Auth | None = None
    secret = settings.oidc_client_secret
    if secret and settings.oidc_client_auth == "client_secret_basic":
        # RFC 6749 2.3.1: the id and secret are form-encoded before they go into Basic
        auth = httpx.BasicAuth(quote_plus(str(settings.oidc_client_id)), quote_plus(secret))
    else:
        form["client_id"] = str(settings.oidc_client_id)
        if secret:
            form["client_secret"] = secret
    try:
        async with httpx.AsyncClient(auth=auth, timeout=settings.oidc_timeout_seconds) as client:
            answer = await client.post(str(settings.oidc_token_url), data=form)
        body: Any = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Refused(502, "sign_in_provider_down", f"token endpoint: {exc!r}") from exc
    if answer.status_code != 200 or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else None
        raise Refused(401, "sign_in_account_refused", f"token endpoint said {reason!r}")
    id_token = body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise Refused(502, "sign_in_provider_down", "the token endpoint gave no ID token")
    return id_token
