"""Settings every service process reads from its environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .retries import RETRIES

DEV_SIGNING_KEY = "lms-dev-signing-key-not-for-production-000000"
DEV_CURSOR_KEY = "lms-dev-cursor-key-not-for-production-0000000"


class ServiceSettings(BaseSettings):
    """One typed settings class; services subclass it for their own knobs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"
    database_url: str = "postgresql+asyncpg://postgres@localhost:5432/lms"
    database_pool_size: int = 10
    # how long a connection attempt, and any one round trip to the database (a statement, a
    # fetch, COMMIT), may wait before the database counts as unavailable (503, a consumer
    # pauses): a hung server keeps connections open and answers nothing. Far above any
    # legitimate statement of the platform (milliseconds; the national report's reads are
    # tens of ms), below an HTTP gateway's minute.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    database_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    # one server, or every node of a cluster, comma-separated: the client fails over between them
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: str | None = None
    run_consumers: bool = True
    run_relay: bool = True
    # one structured line per HTTP request (servicekit.observability.log_access)
    access_log: bool = True
    # where the public reaches the platform (its gateway): links in certificates, messages
    # and reports are built from it, e.g. ``{PUBLIC_BASE_URL}/v1/certificates/{code}``
    public_base_url: str = "http://127.0.0.1:8001"

    auth_issuer: str = "lms-dev"
    auth_audience: str = "lms"
    auth_jwks_url: str | None = None
    auth_jwks_cache_seconds: float = 3600.0
    auth_jwks_refetch_cooldown_seconds: float = 30.0
    auth_dev_signing_key: str | None = DEV_SIGNING_KEY
    # signs the page cursors this service gives out (servicekit.pagination)
    cursor_signing_key: str = Field(default=DEV_CURSOR_KEY, min_length=32)

    consumer_batch_size: int = Field(default=200, ge=1, le=5000)
    # the retry policy (servicekit.retries), applied by the consumer alone
    consumer_max_deliver: int = Field(default=RETRIES.max_deliver, ge=2)
    consumer_retry_delays: list[float] = list(RETRIES.delays)
    # the language of what people read when a request has no Accept-Language (servicekit.i18n)
    default_language: Literal["id", "en"] = "id"
    # responses smaller than this are sent uncompressed (servicekit.compression)
    compress_min_bytes: int = Field(default=500, ge=0)
    relay_batch_size: int = Field(default=500, ge=1, le=10000)
    outbox_retention_hours: float = 72.0
    inbox_retention_days: float = 30.0

    @property
    def nats_servers(self) -> list[str]:
        return nats_servers(self.nats_url)

    def certificate_url(self, code: str, *, pdf: bool = False) -> str:
        """The public verification page of a certificate (or, ``pdf``, its printable file)."""
        url = f"{self.public_base_url.rstrip('/')}/v1/certificates/{code}"
        return f"{url}/pdf" if pdf else url

    @model_validator(mode="after")
    def _no_default_secrets_outside_dev(self) -> ServiceSettings:
        if self.environment == "prod":
            if self.auth_jwks_url is None:
                raise ValueError("AUTH_JWKS_URL is required in production")
            if self.auth_dev_signing_key == DEV_SIGNING_KEY:
                self.auth_dev_signing_key = None
            if self.auth_dev_signing_key is not None:
                raise ValueError("AUTH_DEV_SIGNING_KEY must not be set in production")
            if self.cursor_signing_key == DEV_CURSOR_KEY:
                raise ValueError("CURSOR_SIGNING_KEY must be set to a secret in production")
        return self


def nats_servers(url: str) -> list[str]:
    """The servers of a ``NATS_URL`` that names one or several (``nats://a:4222,nats://b:4222``)."""
    return [part.strip() for part in url.split(",") if part.strip()]
