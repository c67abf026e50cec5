"""Background worker: attempts abandoned past their time limit are closed as zero, so a
pre-test baseline or a failed post-test is recorded even when the learner never submits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import cast

from servicekit.database import Database
from servicekit.service import Runtime

from . import usecases
from .clock import Clock
from .settings import AssessmentSettings
from .store.repository import SqlUnitOfWork

log = logging.getLogger(__name__)


async def expire_once(database: Database, clock: Clock, grace: timedelta, limit: int = 500) -> int:
    """One pass; replicas may run it together (overdue rows are taken with SKIP LOCKED)."""
    async with database.transaction() as tx:
        uow = SqlUnitOfWork(tx)
        closed = await usecases.expire_overdue(uow, clock(), grace, limit)
        await uow.flush_events()
    return closed


def expiry_worker(clock: Clock) -> Callable[[Runtime], Awaitable[None]]:
    async def expiry_sweeper(runtime: Runtime) -> None:
        settings = cast(AssessmentSettings, runtime.settings)
        grace = timedelta(seconds=settings.submit_grace_seconds)
        while not runtime.stopping.is_set():
            closed = await expire_once(runtime.database, clock, grace)
            if closed:
                log.info("closed %d attempts past their time limit", closed)
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), settings.expiry_sweep_seconds)

    return expiry_sweeper
