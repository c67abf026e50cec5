"""What every request meets before its route: the body cap while the body streams in, a
correlation id that cannot break anything, and security headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from servicekit.auth import CurrentPrincipal
from servicekit.middleware import BodyLimits, RequestContext
from servicekit.openapi import docs_router
from servicekit.problems import install_problem_handlers


class Note(BaseModel):
    text: str


def build() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_problem_handlers(app)

    @app.post("/notes")
    async def add(note: Note, principal: CurrentPrincipal) -> dict[str, str]:
        return {"text": note.text}

    @app.post("/uploads")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(b"".join([c async for c in request.stream()]))}

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<p>hi</p>"

    @app.get("/id")
    async def echo() -> dict[str, str]:
        return {}

    app.include_router(docs_router("Test"))
    app.add_middleware(RequestContext, body_limits=BodyLimits(1000, {"/uploads": 5000}))
    return app


client = TestClient(build(), raise_server_exceptions=False)


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def test_a_chunked_body_over_the_cap_is_refused_before_the_caller_is_authenticated() -> None:
    refused = client.post("/notes", content=chunks(10_000))
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "payload_too_large"
    assert refused.json()["errors"] == [{"field": "body", "message": "at most 1000 bytes"}]
    declared = client.post("/notes", content=b"x" * 1001)
    assert declared.status_code == 413
    assert client.post("/notes", json={"text": "a"}).status_code == 401


def test_an_upload_route_has_its_own_cap() -> None:
    assert client.post("/uploads", content=chunks(4000)).json() == {"bytes": 4000}
    assert client.post("/uploads", content=chunks(6000)).status_code == 413


def test_a_correlation_id_that_is_not_a_plain_token_is_replaced() -> None:
    kept = client.get("/id", headers={"X-Correlation-Id": "abc-123"})
    assert kept.headers["x-correlation-id"] == "abc-123"
    for bad in (b"\xff\xfe", b"a\x01b", b"x" * 101, "ü".encode()):
        replaced = client.get("/id", headers={"X-Correlation-Id": bad})
        assert replaced.status_code == 200
        uuid.UUID(replaced.headers["x-correlation-id"])


def test_every_response_says_nosniff_and_html_pages_carry_a_policy() -> None:
    json_answer = client.get("/id")
    assert json_answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in json_answer.headers
    page = client.get("/page")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


def test_the_docs_page_allows_only_its_own_inline_script() -> None:
    docs = client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert docs.status_code == 200 and "'sha256-" in policy and "unsafe-inline" not in policy
    assert docs.headers["x-frame-options"] == "DENY"
