"""Bearer-token identity: who is calling, with which roles, for which learner or region.

Production verifies RS/ES-signed tokens against the OIDC provider's JWKS (keys cached and
refetched when an unknown key id appears, which is how rotation works). The local stack signs
its own HS256 tokens with a development key that production refuses to load.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from .problems import Problem
from .settings import ServiceSettings


class Role(StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    learner_id: uuid.UUID | None = None
    region_code: str | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: Role) -> None:
        if not self.has(*roles):
            wanted = " or ".join(sorted(roles))
            raise Problem(403, "forbidden", f"this action needs the {wanted} role")

    def covers_region(self, village_code: str) -> bool:
        """Admins see everything; supervisors see codes under their region prefix."""
        if self.has(Role.ADMIN):
            return True
        if self.has(Role.SUPERVISOR) and self.region_code is not None:
            prefix = self.region_code.replace(".", "")
            return village_code.replace(".", "").startswith(prefix)
        return False

    def may_see_learner(self, learner_id: uuid.UUID, village_code: str) -> bool:
        return self.learner_id == learner_id or self.covers_region(village_code)


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.issuer = settings.auth_issuer
        self.audience = settings.auth_audience
        self.dev_key = settings.auth_dev_signing_key
        self._cache: dict[str, tuple[Principal, float]] = {}
        self.jwks = (
            jwt.PyJWKClient(
                settings.auth_jwks_url,
                cache_keys=True,
                lifespan=settings.auth_jwks_cache_seconds,
                timeout=5,
                # an unknown key id refetches the set (rotation), at most once per cooldown
                cooldown_duration=settings.auth_jwks_refetch_cooldown_seconds,
            )
            if settings.auth_jwks_url
            else None
        )

    async def verify(self, token: str) -> Principal:
        """Verify once, then serve the same token from a small cache until it expires."""
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal, expires_at = await self._verify(token)
        if len(self._cache) >= 10_000:
            self._cache.clear()
        self._cache[token] = (principal, min(expires_at, time.time() + 300))
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            if self.jwks is not None:
                signing_key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
                key: Any = signing_key.key
                algorithms = ["RS256", "ES256", "EdDSA"]
            elif self.dev_key is not None:
                key, algorithms = self.dev_key, ["HS256"]
            else:
                raise Problem(401, "unauthenticated", "no token verification is configured")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Problem(401, "invalid_token", f"the bearer token was refused: {exc}") from exc
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        roles = frozenset(Role(role) for role in claims.get("roles", []))
        learner_id = uuid.UUID(claims["learner_id"]) if claims.get("learner_id") else None
    except ValueError as exc:
        raise Problem(401, "invalid_token", f"the token's claims are malformed: {exc}") from exc
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        learner_id=learner_id,
        region_code=claims.get("region"),
    )


def mint_token(
    settings: ServiceSettings,
    *,
    roles: list[str],
    subject: str | None = None,
    learner_id: uuid.UUID | None = None,
    region_code: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """A development token signed with the local key (refused in production)."""
    if settings.auth_dev_signing_key is None:
        raise RuntimeError("no development signing key: tokens come from the OIDC provider")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject or (str(learner_id) if learner_id else f"dev-{'-'.join(roles)}"),
        "roles": roles,
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "exp": now + ttl,
    }
    if learner_id:
        claims["learner_id"] = str(learner_id)
    if region_code:
        claims["region"] = region_code
    return jwt.encode(claims, settings.auth_dev_signing_key, algorithm="HS256")


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "unauthenticated", "a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
