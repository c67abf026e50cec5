"""A real OpenID Connect provider for the dashboard's sign-in tests: ``oidc-provider-mock``
(authlib's authorization server, RS256-signed ID tokens, a JWKS, dynamic client registration)
served over HTTP by a threaded server on a free loopback port.

Two providers share the server: the platform's at ``/id`` and, at ``/impostor``, another
that writes the same issuer name into its tokens but signs them with a key of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import oidc_provider_mock
import werkzeug.serving
from werkzeug.middleware.dispatcher import DispatcherMiddleware

# the people the provider knows, with the claims the platform reads (servicekit.auth)
PEOPLE = {
    "sultra@bpsdm.example.go.id": {"roles": ["supervisor"], "region": "74"},
    "kolaka@bpsdm.example.go.id": {"roles": ["supervisor"], "region": "74.01"},
    "wa.ode@desa.example.id": {
        "roles": ["learner"],
        "learner_id": "1d3c5e0a-7f63-4c8e-9a51-0a2b3c4d5e6f",
    },
}


@dataclass
class Provider:
    base: str  # also the issuer: the provider names itself after the host it is asked at

    def url(self, path: str, at: str = "id", host: str | None = None) -> str:
        base = self.base.replace("127.0.0.1", host) if host else self.base
        return f"{base}/{at}{path}"

    def register(self, redirect_uri: str, at: str = "id", **extra: str) -> dict[str, Any]:
        """A client of the provider (dynamic registration, RFC 7591): its id and secret."""
        body = {"redirect_uris": [redirect_uri], **extra}
        answer = httpx.post(self.url("/oauth2/clients", at), json=body, trust_env=False)
        assert answer.status_code == 201, answer.text
        return answer.json()


@contextmanager
def serving_provider() -> Iterator[Provider]:
    """Both providers, clients registered only through the API, a nonce required; the
    people's claims set through the provider's own API. Stopped when the block ends."""
    apps = {
        f"/{name}": oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
        for name in ("id", "impostor")
    }
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, DispatcherMiddleware(apps["/id"], apps), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    provider = Provider(f"http://127.0.0.1:{server.server_port}")
    try:
        for at in ("id", "impostor"):
            for subject, claims in PEOPLE.items():
                url = provider.url(f"/users/{subject}", at)
                assert httpx.put(url, json=claims, trust_env=False).status_code == 204
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def production(
    provider: Provider,
    client: dict[str, Any],
    redirect_url: str,
    at: str = "id",
    browser_host: str | None = None,
) -> dict[str, Any]:
    """Reporting's settings as production has them: tokens verified against the platform
    provider's JWKS and issuer, the dashboard's sign-in through the provider at ``at`` (the
    browser sent to it under ``browser_host``, if another name than the services use)."""
    return {
        "environment": "prod",
        "auth_jwks_url": provider.url("/jwks"),
        "auth_issuer": provider.base,
        "cursor_signing_key": "c" * 40,
        "dashboard_session_key": "s" * 40,
        "oidc_authorization_url": provider.url("/oauth2/authorize", at, browser_host),
        "oidc_token_url": provider.url("/oauth2/token", at),
        "oidc_client_id": client["client_id"],
        "oidc_client_secret": client["client_secret"],
        "oidc_redirect_url": redirect_url,
    }
