"""Connections the commands open with the environment's settings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.js import JetStreamContext

from servicekit.settings import ServiceSettings

T = TypeVar("T")


def on_jetstream(action: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Connect with the environment's NATS settings, run ``action``, disconnect."""
    from servicekit.service import connect_nats

    async def run() -> T:
        nc = await connect_nats(ServiceSettings(), "lms-cli")
        try:
            return await action(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(run())
