from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from servicekit.auth import TokenVerifier, mint_token
from servicekit.problems import install_problem_handlers
from servicekit.ratelimit import RateLimit, TokenBucket
from servicekit.settings import ServiceSettings


def test_a_bucket_allows_a_burst_then_tells_how_long_to_wait() -> None:
    bucket = TokenBucket(capacity=2, refill_per_second=0.5, updated=0.0)
    assert [bucket.take(0.0), bucket.take(0.0)] == [0.0, 0.0]
    assert bucket.take(0.0) == 2.0
    assert bucket.take(2.0) == 0.0


def test_an_expensive_endpoint_answers_429_with_retry_after_per_caller() -> None:
    now = [0.0]
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(ServiceSettings())
    install_problem_handlers(app)

    @app.get(
        "/export", dependencies=[Depends(RateLimit("exports", per_minute=2, clock=lambda: now[0]))]
    )
    def export() -> dict[str, str]:
        return {"ok": "yes"}

    settings = ServiceSettings()
    alice = {"Authorization": "Bearer " + mint_token(settings, roles=["admin"], subject="alice")}
    bob = {"Authorization": "Bearer " + mint_token(settings, roles=["admin"], subject="bob")}
    client = TestClient(app)
    assert [client.get("/export", headers=alice).status_code for _ in range(2)] == [200, 200]
    limited = client.get("/export", headers=alice)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "30"
    assert limited.json()["code"] == "rate_limited"
    assert client.get("/export", headers=bob).status_code == 200
    now[0] = 30.0
    assert client.get("/export", headers=alice).status_code == 200
