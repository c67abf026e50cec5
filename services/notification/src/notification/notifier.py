"""What the message edge and the workers share: settings, templates, channels and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .domain.model import Channel, Preferences, QuietHours
from .rendering import TemplateRenderer
from .settings import NotificationSettings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Notifier:
    settings: NotificationSettings
    clock: Clock = system_clock
    renderer: TemplateRenderer = field(default_factory=TemplateRenderer)

    @property
    def configured(self) -> tuple[Channel, ...]:
        """Channels this deployment can deliver on (the inbox always)."""
        channels = [Channel.INBOX]
        if self.settings.smtp_host:
            channels.append(Channel.EMAIL)
        if self.settings.gateway_url:
            channels += [Channel(c) for c in self.settings.gateway_channels]
        return tuple(channels)

    @property
    def default_preferences(self) -> Preferences:
        s = self.settings
        return Preferences(
            email=s.default_email,
            sms=s.default_sms,
            whatsapp=s.default_whatsapp,
            reminders=True,
            quiet_hours=QuietHours(s.quiet_hours_start, s.quiet_hours_end),
        )

    def verification_url(self, code: str) -> str:
        return self.settings.certificate_verify_url.format(code=code)
