"""What the use cases and the delivery worker share besides the settings, built once per
process in ``main.dependencies``; a test passes its own (a held clock, a resolver)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from servicekit.service import Dependencies

from .secretbox import SecretBox
from .settings import DEV_SECRET_KEY, WebhooksSettings
from .transport import WebhookSender

# host name -> the addresses it has now
Resolver = Callable[[str], Awaitable[list[str]]]


async def resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class WebhooksDependencies(Dependencies):
    secrets: SecretBox = field(default_factory=lambda: SecretBox([DEV_SECRET_KEY]))
    sender: WebhookSender = field(default_factory=lambda: WebhookSender(WebhooksSettings()))
    resolver: Resolver = resolve
