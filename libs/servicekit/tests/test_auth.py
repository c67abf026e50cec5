"""Bearer tokens: development HS256 tokens and production JWKS verification with rotation."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from servicekit.auth import Principal, Role, TokenVerifier, mint_token
from servicekit.problems import Problem
from servicekit.settings import ServiceSettings

DEV = ServiceSettings()


def claims(**changes: object) -> dict:
    now = datetime.now(UTC)
    base = {
        "sub": "u1",
        "roles": ["learner"],
        "learner_id": str(uuid.uuid4()),
        "iss": DEV.auth_issuer,
        "aud": DEV.auth_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    return base | changes


async def refused(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401
    return caught.value


async def test_a_development_token_names_roles_learner_and_region() -> None:
    learner_id = uuid.uuid4()
    token = mint_token(DEV, roles=["learner"], learner_id=learner_id)
    principal = await TokenVerifier(DEV).verify(token)
    assert principal.roles == {Role.LEARNER}
    assert principal.learner_id == learner_id


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(
            claims(exp=datetime.now(UTC) - timedelta(seconds=5)), DEV.auth_dev_signing_key, "HS256"
        ),
        jwt.encode(claims(), "another-key-of-sufficient-length-000000000", "HS256"),
        jwt.encode(claims(aud="someone-else"), DEV.auth_dev_signing_key, "HS256"),
        jwt.encode(claims(iss="elsewhere"), DEV.auth_dev_signing_key, "HS256"),
        jwt.encode(claims(roles=["emperor"]), DEV.auth_dev_signing_key, "HS256"),
        "not.a.token",
    ],
    ids=["expired", "wrong-signature", "wrong-audience", "wrong-issuer", "unknown-role", "garbage"],
)
async def test_bad_tokens_are_refused_with_401(token: str) -> None:
    await refused(TokenVerifier(DEV), token)


class Jwks:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def rotate(self) -> str:
        kid = uuid.uuid4().hex
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def document(self) -> bytes:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append(jwk | {"kid": kid, "use": "sig", "alg": "RS256"})
        return json.dumps({"keys": keys}).encode()

    def sign(self, kid: str, payload: dict, *, name_the_key: bool = True) -> str:
        headers = {"kid": kid} if name_the_key else None
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers=headers)


@pytest.fixture
def jwks() -> Iterator[tuple[Jwks, str]]:
    provider = Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.fetches += 1
            body = provider.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider, f"http://127.0.0.1:{server.server_port}/jwks"
    server.shutdown()


async def test_production_verifies_against_jwks_and_follows_key_rotation(
    jwks: tuple[Jwks, str],
) -> None:
    provider, url = jwks
    settings = ServiceSettings(
        environment="prod",
        cursor_signing_key="a-production-cursor-key-of-some-length-0000",
        auth_jwks_url=url,
        auth_issuer="https://id.example",
        auth_audience="lms",
        auth_jwks_refetch_cooldown_seconds=0,
    )
    verifier = TokenVerifier(settings)
    payload = claims(iss="https://id.example", aud="lms", roles=["admin"])
    first = provider.rotate()
    assert (await verifier.verify(provider.sign(first, payload))).roles == {Role.ADMIN}
    assert (await verifier.verify(provider.sign(first, payload))).roles == {Role.ADMIN}
    assert provider.fetches == 1  # keys are cached

    second = provider.rotate()  # the provider rotates: a token signed with the new key arrives
    assert (await verifier.verify(provider.sign(second, payload))).roles == {Role.ADMIN}
    assert provider.fetches == 2

    await refused(verifier, jwt.encode(payload, DEV.auth_dev_signing_key, "HS256"))
    await refused(verifier, provider.sign(second, payload | {"aud": "other"}))


def production(url: str) -> ServiceSettings:
    return ServiceSettings(
        environment="prod",
        cursor_signing_key="a-production-cursor-key-of-some-length-0000",
        auth_jwks_url=url,
        auth_issuer="https://id.example",
        auth_jwks_refetch_cooldown_seconds=0,
    )


async def test_a_token_naming_no_key_is_checked_against_the_providers_only_key(
    jwks: tuple[Jwks, str],
) -> None:
    provider, url = jwks
    verifier = TokenVerifier(production(url))
    payload = claims(iss="https://id.example", aud="lms", roles=["admin"])
    only = provider.rotate()
    token = provider.sign(only, payload, name_the_key=False)  # OIDC Core 10.1 allows it
    assert (await verifier.verify(token)).roles == {Role.ADMIN}
    provider.rotate()  # with two keys the token must say which one signed it
    fresh = TokenVerifier(production(url))
    problem = await refused(fresh, provider.sign(only, payload, name_the_key=False))
    assert "several" in problem.detail


async def test_an_id_token_is_checked_for_the_client_the_nonce_and_the_issuer(
    jwks: tuple[Jwks, str],
) -> None:
    provider, url = jwks
    verifier = TokenVerifier(production(url))
    kid = provider.rotate()
    good = claims(iss="https://id.example", aud="lms-dashboard", nonce="n-1")
    good |= {"roles": ["supervisor"], "region": "74", "learner_id": None}

    async def checked(payload: dict, nonce: str = "n-1") -> tuple[Principal, float]:
        token = provider.sign(kid, payload)
        return await verifier.verify_id_token(token, client_id="lms-dashboard", nonce=nonce)

    principal, expires = await checked(good)
    assert principal.region_code == "74" and expires == good["exp"].timestamp() // 1
    for payload, nonce in (
        (good, "another-sign-in"),
        (good | {"aud": "lms"}, "n-1"),  # an access token of the APIs is no ID token
        (good | {"aud": ["lms-dashboard", "other"], "azp": "other"}, "n-1"),
        (good | {"iss": "https://elsewhere.example"}, "n-1"),
        ({k: v for k, v in good.items() if k != "nonce"}, "n-1"),
        (good | {"exp": datetime.now(UTC) - timedelta(seconds=5)}, "n-1"),
    ):
        with pytest.raises(Problem) as caught:
            await checked(payload, nonce)
        assert caught.value.status == 401 and caught.value.code == "invalid_token"
    both = good | {"aud": ["lms-dashboard", "other"], "azp": "lms-dashboard"}
    assert (await checked(both))[0].roles == {Role.SUPERVISOR}


async def test_a_verified_token_is_remembered_only_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import servicekit.auth as auth

    verifier = TokenVerifier(DEV)
    verifications = []
    verify = verifier._verify

    async def counted(token: str) -> tuple:
        verifications.append(token)
        return await verify(token)

    monkeypatch.setattr(verifier, "_verify", counted)
    token = mint_token(DEV, roles=["learner"], learner_id=uuid.uuid4(), ttl=timedelta(minutes=1))
    await verifier.verify(token)
    await verifier.verify(token)
    assert len(verifications) == 1  # the second call was served from the cache
    later = auth.time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    await verifier.verify(token)
    assert len(verifications) == 2  # past its expiry the token is verified afresh


@pytest.mark.parametrize(
    "changes",
    [
        {"roles": 5},
        {"roles": {"admin": 1}},
        {"roles": "admin"},
        {"roles": [["admin"]]},
        {"roles": ["supervisor"], "region": ""},
        {"roles": ["supervisor"], "region": "7"},
        {"roles": ["supervisor"], "region": "%"},
        {"roles": ["supervisor"], "region": "7_"},
        {"roles": ["supervisor"], "region": "7401"},
        {"roles": ["supervisor"], "region": ["74"]},
        {"roles": ["supervisor"], "region": "99"},
        {"roles": ["supervisor"], "region": "74.99"},
        {"roles": ["supervisor"]},
        {"learner_id": "not-a-uuid"},
        {"learner_id": 5},
        {"roles": ["learner"], "learner_id": None},
        {"sub": "a\x00b"},
    ],
    ids=repr,
)
async def test_validly_signed_tokens_with_malformed_claims_are_refused_with_401(
    changes: dict,
) -> None:
    token = jwt.encode(claims(**changes), DEV.auth_dev_signing_key, "HS256")
    problem = await refused(TokenVerifier(DEV), token)
    assert problem.code == "invalid_token"


async def test_a_supervisor_covers_their_region_level_by_level() -> None:
    token = mint_token(DEV, roles=["supervisor"], region_code="74.01")
    principal = await TokenVerifier(DEV).verify(token)
    assert principal.covers_region("74.01") and principal.covers_region("74.01.01.2006")
    assert not principal.covers_region("74.02.01.2001")
    assert not principal.covers_region("74")
    assert not principal.covers_region("74.010")
    with pytest.raises(Problem) as outside:
        principal.require_region("73")
    assert (outside.value.status, outside.value.code) == (403, "outside_region")
