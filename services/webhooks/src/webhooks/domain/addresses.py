"""Where the bridge may post: HTTPS URLs on public addresses (server-side request forgery).

An endpoint URL is checked when it is registered (its form, and the addresses its name has
then) and again at every connection (the addresses its name has now), so a name that later
resolves to a private address is refused too. Development and test settings allow loopback and
private addresses, and plain HTTP to loopback only; production allows private addresses only in
networks the operator lists (regional systems on a government network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidEndpointUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class AddressPolicy:
    private_allowed: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def allows(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            return True
        return self.private_allowed or any(ip in network for network in self.allowed_networks)

    def refused(self, addresses: Iterable[str]) -> list[str]:
        return [a for a in addresses if not self.allows(a)]


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    ip = literal_address(host)
    if ip is not None:
        return ip.is_loopback
    host = host.lower().rstrip(".")
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


def check_url(url: str, policy: AddressPolicy) -> str:
    """The URL as it will be posted to, or :class:`InvalidEndpointUrl` saying what is wrong."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidEndpointUrl(f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise InvalidEndpointUrl(f"not a URL: {exc}") from exc
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidEndpointUrl("must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpointUrl("must not carry credentials; deliveries are signed instead")
    if parts.fragment:
        raise InvalidEndpointUrl("must not have a fragment")
    if parts.scheme == "http" and not (policy.private_allowed and is_loopback(host)):
        raise InvalidEndpointUrl("must use https (http only to loopback in development)")
    address = literal_address(host)
    if address is not None and not policy.allows(address):
        raise InvalidEndpointUrl(f"{address} is a private, loopback or reserved address")
    if address is None and is_loopback(host) and not policy.private_allowed:
        raise InvalidEndpointUrl(f"{host} is a loopback name")
    return url
