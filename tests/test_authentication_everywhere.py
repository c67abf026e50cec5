"""Every endpoint of every service refuses a missing, expired, wrongly signed or
wrong-audience token, except health, metrics, OpenAPI, the event documentation (AsyncAPI) and
public certificate verification."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from servicekit.registry import NAMES
from servicekit.registry import service as registered
from servicekit.settings import DEV_SIGNING_KEY, ServiceSettings

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/asyncapi.json",
    "/asyncapi",
    "/v1/certificates/{code}",
}
SETTINGS = ServiceSettings()


def token(**changes: object) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": "x",
        "roles": ["admin"],
        "iss": SETTINGS.auth_issuer,
        "aud": SETTINGS.auth_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | changes
    key = str(changes.pop("key", DEV_SIGNING_KEY)) if "key" in changes else DEV_SIGNING_KEY
    claims.pop("key", None)
    return jwt.encode(claims, key, algorithm="HS256")


BAD_TOKENS = {
    "missing": None,
    "expired": token(exp=datetime.now(UTC) - timedelta(seconds=1)),
    "wrongly signed": token(key="not-the-signing-key-of-this-deployment-0000"),
    "wrong audience": token(aud="another-system"),
}


def protected_routes() -> Iterator[tuple[str, str, str]]:
    for service in NAMES:
        main = registered(service).main()
        app = main.app(main.Settings())
        for path, operations in app.openapi()["paths"].items():
            if path in PUBLIC:
                continue
            for method in sorted(operations):
                yield service, method.upper(), path


ROUTES = list(protected_routes())


def test_every_service_has_protected_routes() -> None:
    assert {service for service, _, _ in ROUTES} == set(NAMES)


@pytest.mark.parametrize("problem", list(BAD_TOKENS))
@pytest.mark.parametrize(
    ("service", "method", "path"), ROUTES, ids=[f"{s} {m} {p}" for s, m, p in ROUTES]
)
def test_a_bad_token_gets_401_and_no_data(
    service: str, method: str, path: str, problem: str
) -> None:
    main = registered(service).main()
    app = main.app(main.Settings())
    app.state.runtime = None  # the request must be refused before anything is looked up
    url = re.sub(r"\{[^}]+\}", lambda m: "74" if "code" in m.group(0) else str(uuid.uuid4()), path)
    headers = (
        {} if BAD_TOKENS[problem] is None else {"Authorization": f"Bearer {BAD_TOKENS[problem]}"}
    )
    client = TestClient(app, raise_server_exceptions=False)
    response = client.request(method, url, headers=headers)
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
