"""Background worker: attempts abandoned past their time limit are closed as zero, so a
pre-test baseline or a failed post-test is recorded even when the learner never submits."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from .dependencies import AssessmentRuntime
from .domain.commands import ExpireOverdue

log = logging.getLogger(__name__)


async def expire_once(runtime: AssessmentRuntime) -> int:
    """One pass, on the runtime's clock; the number of attempts it closed."""
    closed: int = await runtime.runner.execute(ExpireOverdue(runtime.settings.submit_grace))
    return closed


async def expiry_sweeper(runtime: AssessmentRuntime) -> None:
    while not runtime.stopping.is_set():
        closed = await expire_once(runtime)
        if closed:
            log.info("closed %d attempts past their time limit", closed)
            continue
        with suppress(TimeoutError):
            await asyncio.wait_for(runtime.stopping.wait(), runtime.settings.expiry_sweep_seconds)
