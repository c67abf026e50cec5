"""What every sender takes and how it reports a failure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from ..domain.model import Channel


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: uuid.UUID
    channel: Channel
    to: str
    subject: str
    text: str
    html: str | None = None


class SendFailed(Exception):
    """A send that did not succeed; ``permanent`` ones are never retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> None: ...

    async def close(self) -> None: ...
