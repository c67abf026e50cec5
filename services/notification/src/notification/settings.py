from datetime import time
from typing import Literal

from pydantic import Field, model_validator

from servicekit.settings import ServiceSettings

from .domain.model import Preferences, QuietHours


class NotificationSettings(ServiceSettings):
    # e-mail over SMTP; no host means the e-mail channel is off
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "LMS Pamong Desa <no-reply@pamongdesa.id>"
    smtp_timeout_seconds: float = 20.0

    # SMS and WhatsApp through one generic HTTP gateway; no URL means both channels are off
    gateway_url: str | None = None
    gateway_channels: list[Literal["sms", "whatsapp"]] = ["sms", "whatsapp"]
    gateway_auth_header: str = "Authorization"
    gateway_auth_token: str | None = None
    gateway_auth_scheme: str = "Bearer"
    gateway_signature_header: str = "X-Signature"
    gateway_signing_secret: str | None = None
    gateway_timeout_seconds: float = 10.0

    # the delivery worker
    run_delivery_worker: bool = True
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    delivery_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)

    # defaults for learners who never set preferences
    default_email: bool = True
    default_sms: bool = True
    default_whatsapp: bool = False
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(7, 0)

    # reminders and the supervisors' weekly digest
    run_scheduler: bool = True
    scheduler_poll_seconds: float = Field(default=60.0, gt=0)
    reminder_inactive_days: int = Field(default=7, ge=1)
    reminder_period_days: int = Field(default=7, ge=1)
    digest_inactive_days: int = Field(default=14, ge=1)
    digest_max_names: int = Field(default=25, ge=0, le=500)
    schedule_chunk_size: int = Field(default=1000, ge=1)

    # coaching messages ("message the learners who ..."): sent by a job, rate-limited
    run_broadcaster: bool = True
    broadcast_per_second: float = Field(default=20.0, gt=0)
    broadcast_batch_size: int = Field(default=50, ge=1, le=1000)
    broadcast_poll_seconds: float = Field(default=1.0, gt=0)

    @property
    def default_preferences(self) -> Preferences:
        """What a learner who never set preferences gets."""
        return Preferences(
            email=self.default_email,
            sms=self.default_sms,
            whatsapp=self.default_whatsapp,
            reminders=True,
            quiet_hours=QuietHours(self.quiet_hours_start, self.quiet_hours_end),
        )

    def verification_url(self, code: str) -> str:
        return self.certificate_url(code)

    @model_validator(mode="after")
    def _safe_in_production(self) -> "NotificationSettings":
        if self.environment == "prod":
            if self.gateway_url and not self.gateway_signing_secret:
                raise ValueError("GATEWAY_SIGNING_SECRET must be set when GATEWAY_URL is")
            if self.smtp_password and self.smtp_tls == "none":
                raise ValueError("SMTP_TLS=none would send the SMTP password in clear text")
        return self
