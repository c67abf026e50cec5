"""Bearer-token identity: who is calling, with which roles, for which learner or region.

Production verifies RS/ES-signed tokens against the OIDC provider's JWKS (keys cached and
refetched when an unknown key id appears, which is how rotation works). The local stack signs
its own HS256 tokens with a development key that production refuses to load.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import jwt
from fastapi import Depends, Request

from . import regions
from .problems import Problem
from .settings import ServiceSettings


class Role(StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the token's claims said once validated: known roles, a learner id
    for learners, and for supervisors an existing region code in canonical form."""

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

    @property
    def region_in_view(self) -> str | None:
        """The region whose learners the caller sees: ``""`` (the whole country) for admins,
        their own for supervisors, None for everybody else."""
        if self.has(Role.ADMIN):
            return ""
        if self.has(Role.SUPERVISOR):
            return self.region_code
        return None

    def covers_region(self, code: str) -> bool:
        """Admins see everything; supervisors their region and what lies under it."""
        region = self.region_in_view
        return region is not None and regions.within(code, region)

    def require_region(self, code: str) -> None:
        """Refuse (403) a region the caller does not cover; ``""`` is the whole country."""
        if self.covers_region(code):
            return
        if self.region_in_view is None:
            raise Problem(403, "forbidden", "this needs the supervisor or admin role")
        raise Problem(403, "outside_region", "this region is outside your region")

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
        key, algorithms = await self._key_of(token)
        try:
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

    async def verify_id_token(
        self, token: str, *, client_id: str, nonce: str
    ) -> tuple[Principal, float]:
        """An OpenID Connect ID token, as a relying party that signs people in checks it
        (OIDC Core 3.1.3.7): signed by the provider (the JWKS), issued by it, meant for
        ``client_id`` (``azp`` too when it names several audiences), answering ``nonce``, not
        expired; its claims then name the principal like an access token's. Not cached: each
        is used once. Returns the principal and the token's expiry."""
        key, algorithms = await self._key_of(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "nonce"]},
            )
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if len(audiences) > 1 and claims.get("azp") != client_id:
                raise jwt.InvalidAudienceError("the ID token was issued to another party (azp)")
            if not hmac.compare_digest(str(claims["nonce"]), nonce):
                raise jwt.InvalidTokenError("the ID token answers another sign-in (nonce)")
        except jwt.PyJWTError as exc:
            raise Problem(401, "invalid_token", f"the ID token was refused: {exc}") from exc
        return principal_from_claims(claims), float(claims["exp"])

    async def _key_of(self, token: str) -> tuple[Any, list[str]]:
        """The key that should have signed ``token``, and the algorithms it may use."""
        if self.jwks is not None:
            try:
                key = await asyncio.to_thread(self._provider_key, token)
            except jwt.PyJWTError as exc:
                raise Problem(401, "invalid_token", f"the token was refused: {exc}") from exc
            return key, ["RS256", "ES256", "EdDSA"]
        if self.dev_key is not None:
            return self.dev_key, ["HS256"]
        raise Problem(401, "unauthenticated", "no token verification is configured")

    def _provider_key(self, token: str) -> Any:
        """The JWKS key the token's ``kid`` names; a token without one may only be signed by
        the provider's single key (OIDC Core 10.1: ``kid`` is required when there are several)."""
        assert self.jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is not None:
            return self.jwks.get_signing_key(str(kid)).key
        keys = self.jwks.get_signing_keys()
        if len(keys) != 1:
            raise jwt.InvalidTokenError("the token names no key (kid) and the provider has several")
        return keys[0].key


class MalformedClaims(ValueError):
    pass


def _roles(value: Any) -> frozenset[Role]:
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise MalformedClaims("roles must be a list of strings")
    known = {role.value for role in Role}
    unknown = sorted(set(value) - known)
    if unknown:
        raise MalformedClaims(f"unknown roles {unknown}")
    return frozenset(Role(role) for role in value)


def _learner_id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedClaims("learner_id must be a string")
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise MalformedClaims("learner_id must be a UUID") from exc


def _region(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not regions.is_canonical(value):
        raise MalformedClaims("region must be a region code in dotted form, such as 74.01")
    if regions.find(value) is None:
        raise MalformedClaims(f"no region has code {value}")
    return value


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The claims, validated: anything malformed refuses the token (401) rather than being
    read loosely (an empty region would cover the country, a dict of roles would be roles)."""
    try:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.isprintable() or not 0 < len(subject) <= 255:
            raise MalformedClaims("sub must be a printable string")
        roles = _roles(claims.get("roles", []))
        learner_id = _learner_id(claims.get("learner_id"))
        region_code = _region(claims.get("region"))
        if Role.LEARNER in roles and learner_id is None:
            raise MalformedClaims("a learner's token needs learner_id")
        if Role.SUPERVISOR in roles and region_code is None:
            raise MalformedClaims("a supervisor's token needs region")
    except MalformedClaims as exc:
        raise Problem(401, "invalid_token", f"the token's claims are malformed: {exc}") from exc
    return Principal(subject, roles, learner_id, region_code)


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


F = TypeVar("F", bound=Callable[..., Any])


def authenticates(dependency: F) -> F:
    """Marks a dependency that refuses a missing or bad token (401) and may refuse the
    caller's roles (403): the OpenAPI document lists both for every route using it."""
    dependency.authenticates = True  # type: ignore[attr-defined]
    return dependency


@authenticates
async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "unauthenticated", "a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    request.state.principal = principal  # for refusals that reveal only what it may see
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
