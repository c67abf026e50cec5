from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network

from pydantic import Field, model_validator

from servicekit.settings import ServiceSettings

from .domain.addresses import AddressPolicy
from .domain.model import RetryPolicy

# Fernet key for local runs and tests only; production refuses it.
DEV_SECRET_KEY = "bG1zLWRldi13ZWJob29rLXNlY3JldHMta2V5LTAwMDA="
HOUR = 3600.0


class WebhooksSettings(ServiceSettings):
    # Fernet keys sealing the endpoints' signing secrets at rest: the first seals, every one
    # opens (rotate by putting a new key first, then dropping the old one once re-sealed).
    secret_encryption_keys: list[str] = [DEV_SECRET_KEY]

    # Where deliveries may go (ADR 15, docs/security.md). None: private and loopback
    # addresses (and http to loopback) in dev and test, never in prod.
    private_networks_allowed: bool | None = None
    # private networks allowed all the same (regional systems on a government network)
    allowed_networks: list[IPv4Network | IPv6Network] = []
    # a PEM bundle of certificate authorities trusted besides the system's
    ca_bundle: str | None = None

    # the delivery worker
    run_delivery_worker: bool = True
    delivery_concurrency: int = Field(default=16, ge=1, le=256)  # per endpoint and replica
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_poll_seconds: float = Field(default=0.5, gt=0)
    # waits after the 1st, 2nd, ... failed attempt (the last repeats), within the window
    retry_schedule_seconds: list[float] = [5, 300, 1800, 2 * HOUR, 5 * HOUR, 10 * HOUR]
    retry_window_hours: float = Field(default=72.0, gt=0)

    # housekeeping
    event_retention_days: float = Field(default=30.0, gt=0)
    delivery_log_days: float = Field(default=30.0, gt=0)
    dead_letter_days: float = Field(default=90.0, gt=0)
    housekeeping_every_seconds: float = Field(default=600.0, gt=0)

    @property
    def addresses(self) -> AddressPolicy:
        allowed = self.private_networks_allowed
        if allowed is None:
            allowed = self.environment != "prod"
        return AddressPolicy(allowed, tuple(self.allowed_networks))

    @property
    def retries(self) -> RetryPolicy:
        return RetryPolicy(
            tuple(self.retry_schedule_seconds), timedelta(hours=self.retry_window_hours)
        )

    @model_validator(mode="after")
    def _safe_in_production(self) -> "WebhooksSettings":
        if not self.secret_encryption_keys:
            raise ValueError("SECRET_ENCRYPTION_KEYS needs at least one key")
        if any(delay <= 0 for delay in self.retry_schedule_seconds) or not (
            self.retry_schedule_seconds
        ):
            raise ValueError("RETRY_SCHEDULE_SECONDS must be positive delays")
        if self.environment == "prod":
            if DEV_SECRET_KEY in self.secret_encryption_keys:
                raise ValueError("SECRET_ENCRYPTION_KEYS must not hold the development key")
            if self.private_networks_allowed:
                raise ValueError(
                    "PRIVATE_NETWORKS_ALLOWED is for development; list the private networks "
                    "of regional systems in ALLOWED_NETWORKS"
                )
            if self.retry_window_hours < 72:
                raise ValueError("RETRY_WINDOW_HOURS must be at least 72 in production")
        return self
