from typing import Literal

from pydantic import Field, model_validator

from servicekit.settings import ServiceSettings

DEV_SESSION_KEY = "lms-dev-dashboard-session-key-not-for-production"


class ReportingSettings(ServiceSettings):
    active_days: int = 14
    consumer_batch_size: int = 2000
    # signs the dashboard's session cookie (api/sessions.py)
    dashboard_session_key: str = Field(default=DEV_SESSION_KEY, min_length=32)
    dashboard_session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    # the OIDC provider's authorization-code flow, for signing in to the dashboard
    oidc_authorization_url: str | None = None
    oidc_token_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_url: str | None = None
    oidc_scope: str = "openid"
    # how the dashboard authenticates at the token endpoint (OIDC's default: HTTP Basic)
    oidc_client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _session_key_is_a_secret_in_production(self) -> "ReportingSettings":
        if self.environment == "prod" and self.dashboard_session_key == DEV_SESSION_KEY:
            raise ValueError("DASHBOARD_SESSION_KEY must be set to a secret in production")
        return self

    @property
    def oidc_configured(self) -> bool:
        return bool(
            self.oidc_authorization_url
            and self.oidc_token_url
            and self.oidc_client_id
            and self.oidc_redirect_url
        )

    @property
    def sign_in_by_pasted_token(self) -> bool:
        """Development and tests sign in with a pasted token; production only through the
        OIDC provider."""
        return self.environment != "prod"
