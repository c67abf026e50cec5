"""The five services, their ports and how to reach their composition roots."""

from __future__ import annotations

import importlib
from types import ModuleType

SERVICES: dict[str, int] = {
    "enrollment": 8001,
    "content": 8002,
    "assessment": 8003,
    "notification": 8004,
    "reporting": 8005,
}


def service_main(name: str) -> ModuleType:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    return importlib.import_module(f"{name}.main")


def service_cli(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{name}.cli")
    except ModuleNotFoundError as exc:
        if exc.name == f"{name}.cli":
            return None
        raise
