"""Per-caller rate limits for expensive endpoints (exports, bulk jobs): 429 with Retry-After.

A token bucket per caller and endpoint, kept in the process. With N replicas a caller gets at
most N times the limit, which is acceptable for abuse protection of costly requests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from .auth import current_principal
from .problems import Problem


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self, now: float) -> float:
        """Take one token; return 0 if allowed, else seconds until one is available."""
        self.tokens = min(
            self.capacity, self.tokens + (now - self.updated) * self.refill_per_second
        )
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.refill_per_second


class RateLimit:
    """FastAPI dependency: ``Depends(RateLimit("exports", per_minute=6))``."""

    def __init__(
        self,
        name: str,
        *,
        per_minute: float,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.per_minute = per_minute
        self.burst = burst or max(1, int(per_minute))
        self.clock = clock

    def now(self) -> float:
        return self.clock()

    async def __call__(self, request: Request) -> None:
        principal = await current_principal(request)
        self.take(request, principal.subject)

    def take(self, request: Request, subject: str) -> None:
        """Take one request of ``subject``'s allowance, or refuse (429) until there is one."""
        # buckets live with the app, so each app (and each test's app) starts afresh
        all_buckets = request.app.state._state.setdefault("rate_limits", {})
        buckets: dict[str, TokenBucket] = all_buckets.setdefault(self.name, {})
        bucket = buckets.get(subject)
        if bucket is None:
            if len(buckets) > 100_000:
                buckets.clear()
            bucket = TokenBucket(self.burst, self.per_minute / 60, updated=self.now())
            buckets[subject] = bucket
        wait = bucket.take(self.now())
        if wait > 0:
            retry_after = str(math.ceil(wait))
            raise Problem(
                429,
                "rate_limited",
                f"too many {self.name} requests; retry in {retry_after} s",
                headers={"Retry-After": retry_after},
            )
