"""The event documentation every service serves, public like ``/docs``: the AsyncAPI document
of every LMS event (``/asyncapi.json``) and a page for people (``/asyncapi``), both built from
the contracts, so each service shows the same events it was built with."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from lms_contracts.asyncapi import document, render
from lms_contracts.asyncapi_page import render_page


@cache
def _json() -> str:
    return render()


@cache
def _page() -> str:
    return render_page(document())


def event_docs_router() -> APIRouter:
    router = APIRouter(tags=["events"])

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every event")
    async def asyncapi_json() -> Response:
        return Response(_json(), media_type="application/json")

    @router.get("/asyncapi", response_class=HTMLResponse, summary="Every event, for people")
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(_page())

    return router
