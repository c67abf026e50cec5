"""RFC 9457 problem details for every error a client can cause."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .database import CommitOutcomeUnknown, database_unavailable
from .i18n import filled, localized_problem, problem_detail, validation_message

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
# A 422 lists this many invalid fields at most (the count says how many there were)
MAX_LISTED_ERRORS = 20
# How long a client is asked to wait when the database cannot be reached: a restart or a
# failover of PostgreSQL takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 5
# Errors that may say the database is unreachable; database_unavailable() tells which do.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection free in time
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


class Problem(Exception):
    """Raise anywhere in the HTTP edge to answer with a problem response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
        # values the catalog's texts are filled with, which are not members of the answer
        self.params = params
        self.extra = extra


class BodyTooLarge(HTTPException):
    """Raised while a request body is read, as soon as it passes its cap
    (:class:`~servicekit.middleware.RequestContext` counts it).

    An ``HTTPException`` because FastAPI turns any other error met while reading a body into
    a 400; this one passes through to its problem handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")
        self.max_bytes = max_bytes


def body_too_large_response(max_bytes: int) -> JSONResponse:
    return problem_response(
        413,
        "payload_too_large",
        f"the request body exceeds {max_bytes} bytes",
        errors=[{"field": "body", "message": "at most {n} bytes", "params": {"n": max_bytes}}],
        max_bytes=max_bytes,
        # the rest of the body is still on the wire: this connection cannot carry another
        headers={"Connection": "close"},
    )


def field_problem(
    field: str, message: str, code: str = "invalid_field", status: int = 422
) -> Problem:
    return Problem(
        status, code, f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


@dataclass(frozen=True)
class Refusal:
    """How one kind of domain error is answered: status, problem code and, where one field of
    the request is to blame, its name (else the error's own ``field`` attribute, if it has
    one). ``detail`` is the English text of the rule the field broke (a key of the catalogs'
    ``field`` context; else the error's own ``message``, else its text), filled with
    ``params`` (else the error's own ``params``): values never go into an English sentence
    before the request's language is known. ``extra`` adds members to the problem, only for a
    caller that ``reveal`` (given the error and the caller's principal) says may see them: an
    answer names nothing outside the caller's scope."""

    status: int
    code: str
    field: str | None = None
    detail: str | None = None
    extra: Callable[[Any], dict[str, Any]] | None = None
    reveal: Callable[[Any, Any], bool] | None = None
    params: Callable[[Any], Mapping[str, Any]] | None = None

    def problem(self, exc: Exception, principal: Any = None) -> Problem:
        field = self.field or getattr(exc, "field", None)
        message = self.detail or getattr(exc, "message", None) or str(exc)
        values = dict(self.params(exc) if self.params else getattr(exc, "params", None) or {})
        extra = self.extra(exc) if self.extra and self._revealed(exc, principal) else {}
        english = filled(message, values)
        if field:
            error: dict[str, Any] = {"field": field, "message": message}
            if values:
                error["params"] = values
            return Problem(
                self.status,
                self.code,
                f"{field}: {english}",
                errors=[error],
                params=values,
                **extra,
            )
        return Problem(self.status, self.code, english, params=values, **extra)

    def _revealed(self, exc: Exception, principal: Any) -> bool:
        if self.reveal is None:
            return True
        return principal is not None and self.reveal(exc, principal)


CONFLICT = Refusal(409, "conflict")


@dataclass(frozen=True)
class Refusals:
    """A service's table from its domain errors to problems: the one place that says how a
    refusal of the domain reaches a client. The most specific class listed wins; an error of
    the service's ``base`` class that is not listed is a 409 conflict."""

    base: type[Exception]
    table: Mapping[type[Exception], Refusal]
    default: Refusal = CONFLICT

    def problem(self, exc: Exception, principal: Any = None) -> Problem:
        for cls in type(exc).__mro__:
            refusal = self.table.get(cls)
            if refusal is not None:
                return refusal.problem(exc, principal)
        return self.default.problem(exc, principal)

    def text(self, exc: Exception, principal: Any = None) -> str:
        """What the refusal says, in the request's language, where it is not an answer of
        its own (a row of an import, say)."""
        problem = self.problem(exc, principal)
        return problem_detail(
            problem.code, problem.detail, problem.extra | dict(problem.params or {})
        )


def problem_response(
    status: int,
    code: str,
    detail: str,
    instance: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The answer to a problem, in the request's language (``params`` fill its texts and are
    not sent)."""
    detail, extra = localized_problem(code, detail, extra, params)
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    headers = extra.pop("headers", None)
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in location)


def _answer(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        params=exc.params,
        **exc.extra,
    )


def install_problem_handlers(app: FastAPI, refusals: Refusals | None = None) -> None:
    """Every error a client can cause becomes a problem; with ``refusals``, so does every
    error of the service's domain, wherever in the HTTP edge it is raised."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _answer(request, exc)

    if refusals is not None:

        @app.exception_handler(refusals.base)
        async def _refused(request: Request, exc: Exception) -> JSONResponse:
            # the caller, if the route authenticated one (servicekit.auth keeps it here)
            principal = getattr(request.state, "principal", None)
            return _answer(request, refusals.problem(exc, principal))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request.url.path, exc.errors())

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return body_too_large_response(exc.max_bytes)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
        return problem_response(exc.status_code, code, str(exc.detail), request.url.path)

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            return database_unavailable_response(request.url.path, exc)
        return internal_error_response(request.url.path, exc)

    @app.exception_handler(CommitOutcomeUnknown)
    async def _commit_lost(request: Request, exc: CommitOutcomeUnknown) -> JSONResponse:
        log.warning("connection lost while committing on %s", request.url.path)
        return problem_response(
            503,
            "outcome_unknown",
            "the database went away while saving this request: it may or may not have been "
            "applied; retry with the same Idempotency-Key to get its first answer",
            request.url.path,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    # Handled here, not re-raised (as an `Exception` handler's errors are, closing the
    # client's connection): an outage of the database is a 503 the client can retry on the
    # same connection.
    for cls in DATABASE_ERRORS:
        app.add_exception_handler(cls, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(request.url.path, exc)


def validation_problem(path: str, found: Sequence[Any]) -> JSONResponse:
    """422 naming each invalid field; at most ``MAX_LISTED_ERRORS`` of them, each message
    cut short, and never the input itself: the answer stays small whatever was sent."""
    errors = [
        {
            "field": _field_name(tuple(e.get("loc", ())))[:200],
            "message": validation_message(e)[:300],
        }
        for e in found[:MAX_LISTED_ERRORS]
    ]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    more = len(found) - len(errors)
    detail = f"invalid request: {fields}" + (f" and {more} more errors" if more > 0 else "")
    return problem_response(
        422, "validation_failed", detail, path, errors=errors, error_count=len(found)
    )


def database_unavailable_response(path: str | None, exc: BaseException) -> JSONResponse:
    log.warning("database unavailable on %s: %r", path, exc)
    return problem_response(
        503,
        "database_unavailable",
        "the database cannot be reached at the moment; retry shortly",
        path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def internal_error_response(path: str | None, exc: BaseException) -> JSONResponse:
    log.error("unhandled error on %s", path, exc_info=exc)
    return problem_response(500, "internal_error", "an unexpected error occurred", path)
