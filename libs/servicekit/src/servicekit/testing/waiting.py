"""Wait for a condition the system under test will reach, instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 15.0,
    interval: float = 0.02,
) -> T:
    """Re-run ``probe`` until ``until(result)`` holds; fail with the last result on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)
