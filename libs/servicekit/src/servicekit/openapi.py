"""The API's own documentation: the interactive page at ``/docs``, and an OpenAPI document
that says which problems each route can answer."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from .problems import MEDIA_TYPE
from .ratelimit import RateLimit

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


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered; a problem may
    carry more members (``max_bytes``, ``learner_id``...)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None


REASONS = {
    400: "A body that is not JSON, or a page cursor this listing did not give out",
    401: "No valid bearer token",
    403: "Not allowed to the caller's roles or region",
    404: "Not found, or not visible to the caller",
    409: "Refused by a rule of the service (a conflict with what exists)",
    413: "The request body (or its list) is over its cap",
    416: "The requested range lies outside the document",
    422: "A field is invalid (each named in `errors`)",
    429: "Too many requests from this caller; see Retry-After",
    503: "The database cannot be reached; retry after Retry-After",
}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


Responses = dict[int | str, dict[str, Any]]


def problems(*statuses: int) -> Responses:
    """Statuses a route answers with a problem beyond those its parts imply (a 404 of a body
    that names something invisible, say): ``responses=problems(404)``."""
    return {status: {"description": REASONS.get(status, "Refused")} for status in statuses}


def served(*media_types: str, status: int = 200, description: str = "The document") -> Responses:
    """A success that is not JSON: ``responses=served("text/csv")``."""
    binary = {"type": "string", "format": "binary"}
    return {
        status: {
            "description": description,
            "content": {m: {"schema": binary} for m in media_types},
        }
    }


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def problem_statuses(route: APIRoute, refused: set[int]) -> set[int]:
    """What a route can answer besides its success, from what it is made of: authentication
    (401, 403), parameters and body (422, 413), a page cursor (400), path ids (404), a rate
    limit (429), the database (503) and, for a route that changes something, the statuses of
    the service's refusal table; plus what the route declares itself."""
    if route.path in PUBLIC:
        return set()
    methods = route.methods or set()
    calls = set(_calls(route.dependant))
    statuses = {503}
    if any(getattr(call, "authenticates", False) for call in calls):
        statuses |= {401, 403}
    params = route.dependant.query_params + route.dependant.header_params
    if route.dependant.path_params or params or route.body_field is not None:
        statuses.add(422)
    if route.dependant.path_params:
        statuses.add(404)
    if route.body_field is not None or methods & {"POST", "PUT", "PATCH"}:
        statuses.add(413)
    if route.body_field is not None:
        statuses.add(400)  # a body that is not JSON (or not UTF-8) at all
    if any(p.name == "cursor" for p in route.dependant.query_params):
        statuses.add(400)
    if any(isinstance(call, RateLimit) for call in calls):
        statuses.add(429)
    if methods - {"GET", "HEAD"}:
        statuses |= refused
    return statuses


def document_problems(app: FastAPI, refused: set[int]) -> None:
    """Make the app's OpenAPI document honest about errors: every status each route can
    answer with a problem, as ``application/problem+json`` with the problem schema (in place
    of FastAPI's ``application/json`` validation error)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas["Problem"] = schema
        for context in routing.iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    operation = document["paths"][context.path_format][method.lower()]
                    _add_problems(operation, route, refused)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _add_problems(operation: dict[str, Any], route: APIRoute, refused: set[int]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        content = response.get("content", {})
        # a route that declared what it serves does not also serve untyped JSON
        if (
            status.startswith("2")
            and len(content) > 1
            and content.get("application/json") == {"schema": {}}
        ):
            del content["application/json"]
    declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
    for status in sorted(problem_statuses(route, refused) | declared):
        described = responses.get(str(status), {}).get("description")
        responses[str(status)] = {
            "description": REASONS.get(status) or described or "Refused",
            "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
