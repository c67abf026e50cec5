"""Every route's dependencies run on the event loop: FastAPI hands a plain function
dependency to a worker thread, one hand-off per request for what is an attribute lookup."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from servicekit.registry import NAMES
from servicekit.registry import service as registered


def functions(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from functions(sub)


def in_a_thread(call: Any) -> bool:
    """As FastAPI decides: a coroutine function (or an object whose ``__call__`` is one)
    is awaited, anything else (a class too) is run in a thread."""
    if inspect.isfunction(call) or inspect.ismethod(call) or inspect.isclass(call):
        return not inspect.iscoroutinefunction(call)
    return not inspect.iscoroutinefunction(type(call).__call__)


@pytest.mark.parametrize("name", NAMES)
def test_no_route_of_the_service_waits_for_a_thread_to_resolve_a_dependency(name: str) -> None:
    main = registered(name).main()
    app = main.app(main.Settings())
    threaded = {
        f"{route.path}: {call.__module__}.{call.__qualname__}"
        for route in app.routes
        if isinstance(route, APIRoute)
        for call in functions(route.dependant)
        if in_a_thread(call)
    }
    assert not threaded, sorted(threaded)
