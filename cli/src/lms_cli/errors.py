"""What the ``lms`` command says when it fails: one line with what is wrong and how to fix
it, on standard error, and a non-zero exit; never a traceback (``LMS_DEBUG=1`` shows it)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pydantic
import sqlalchemy.exc
from nats.errors import NoServersError

DATABASE_UNSET = "DATABASE_URL is not set: export it or run `./lms up`"
NATS_UNSET = "NATS_URL is not set: export it (`./lms up` prints it) or run `./lms up`"


class MissingSetting(RuntimeError):
    """A setting the command needs is not in the environment (its message says which)."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        yield found
        found = getattr(found, "orig", None) or found.__cause__ or found.__context__


def where(url: str | None) -> str:
    """Host and port of a server URL, without its credentials."""
    if not url:
        return "(default address)"
    parts = urlsplit(url.replace("postgresql+asyncpg", "postgresql"))
    host = parts.hostname or "a unix socket"
    return f"{host}:{parts.port}" if parts.port else host


def explain(exc: BaseException) -> str:
    """The one line for ``exc``."""
    chain = list(causes(exc))
    if isinstance(exc, MissingSetting):
        return str(exc)
    if any(isinstance(e, NoServersError) for e in chain):
        url = os.environ.get("NATS_URL")
        if not url:
            return NATS_UNSET
        return f"cannot reach NATS at {where(url)} (NATS_URL): is nats-server running?"
    database = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, OSError)
    if any(isinstance(e, database) for e in chain):
        url = os.environ.get("DATABASE_URL")
        if not url:
            return DATABASE_UNSET
        reason = str(chain[-1]).splitlines()[0] if str(chain[-1]) else type(chain[-1]).__name__
        return (
            f"cannot reach PostgreSQL at {where(url)} (DATABASE_URL): {reason}: "
            "is it running, and does DATABASE_URL name its host, port, user and database?"
        )
    for found in chain:
        if isinstance(found, pydantic.ValidationError):
            error = found.errors()[0]
            name = "_".join(str(part) for part in error["loc"]).upper() or "a setting"
            return f"{name} is invalid: {error['msg']}: fix it in the environment"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first} (LMS_DEBUG=1 shows where it happened)"


def friendly(run: Callable[[], object]) -> None:
    """Run the command; an error becomes one line on standard error and exit status 1."""
    try:
        run()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("LMS_DEBUG"):
            raise
        print(f"lms: {explain(exc)}", file=sys.stderr)
        sys.exit(1)
