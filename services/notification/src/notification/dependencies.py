"""What the use cases and the workers share besides the settings, built once per process in
``main.dependencies``; a test passes its own (a held clock, senders of its choosing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from servicekit.service import Dependencies

from .channels import Sender
from .domain.model import Channel
from .rendering import Renderer, TemplateRenderer


@dataclass
class NotificationDependencies(Dependencies):
    renderer: Renderer = field(default_factory=TemplateRenderer)
    # one sender per outbound channel this deployment can deliver on
    senders: Mapping[Channel, Sender] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Channels a message may go out on: the inbox always, and each one with a sender."""
        return (Channel.INBOX, *self.senders)
