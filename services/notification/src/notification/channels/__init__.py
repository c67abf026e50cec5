"""Senders for the outbound channels: e-mail over SMTP, SMS and WhatsApp over an HTTP gateway."""

from __future__ import annotations

from ..domain.model import Channel
from ..settings import NotificationSettings
from .base import OutgoingMessage, Sender, SendFailed
from .email import SmtpSender
from .gateway import HttpGatewaySender

__all__ = ["OutgoingMessage", "SendFailed", "Sender", "senders_for"]


def senders_for(settings: NotificationSettings) -> dict[Channel, Sender]:
    """One sender per configured channel; SMS and WhatsApp share the gateway."""
    senders: dict[Channel, Sender] = {}
    if settings.smtp_host:
        senders[Channel.EMAIL] = SmtpSender(settings)
    if settings.gateway_url:
        gateway = HttpGatewaySender(settings)
        for name in settings.gateway_channels:
            senders[Channel(name)] = gateway
    return senders
