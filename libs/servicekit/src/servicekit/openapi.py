"""The API's own documentation: the interactive page at ``/docs``."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: bytes) -> str:
    """The page's content security policy: Swagger UI from its CDN, and of inline scripts
    only the one the page itself carries (by its hash)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_UI} {hashes}; style-src {SWAGGER_UI}; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def docs_router(title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title=f"{title} - API")
        page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body))
        return page

    return router
