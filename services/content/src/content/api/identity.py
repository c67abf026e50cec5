"""Verified bearer tokens, remembered until they expire.

Recording progress is the busiest call, made by the same learner's token many times in a
session; verifying the token's signature and claims each time cost about a quarter of the
request. A token that verified once is kept (bounded, and never past its ``exp`` or a few
minutes), keyed by the whole token, so a tampered or different token is verified afresh.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Annotated

from fastapi import Depends, Request

from servicekit.auth import Principal, current_principal

MAX_TOKENS = 50_000
MAX_AGE_SECONDS = 300.0


class TokenCache:
    def __init__(self, max_tokens: int = MAX_TOKENS, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_tokens = max_tokens
        self.max_age = max_age
        self.entries: dict[str, tuple[Principal, float]] = {}

    def get(self, header: str, now: float) -> Principal | None:
        entry = self.entries.get(header)
        if entry is None:
            return None
        if entry[1] <= now:
            del self.entries[header]
            return None
        return entry[0]

    def put(self, header: str, principal: Principal, now: float) -> None:
        until = min(expiry_of(header.partition(" ")[2]), now + self.max_age)
        if until <= now:
            return
        if len(self.entries) >= self.max_tokens:
            del self.entries[next(iter(self.entries))]
        self.entries[header] = (principal, until)


def expiry_of(token: str) -> float:
    """The ``exp`` claim of a token that has already been verified; 0 when unreadable."""
    try:
        segment = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


async def remembered_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = TokenCache()
    now = time.time()
    if (principal := cache.get(header, now)) is not None:
        return principal
    principal = await current_principal(request)
    cache.put(header, principal, now)
    return principal


Caller = Annotated[Principal, Depends(remembered_principal)]
