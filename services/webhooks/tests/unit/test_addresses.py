"""Which URLs an endpoint may have: https on public addresses; http and private addresses
only for loopback in development; private networks in production only when listed."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.domain.addresses import AddressPolicy, check_url
from webhooks.domain.errors import InvalidEndpointUrl

PRODUCTION = AddressPolicy(False, (ipaddress.ip_network("10.20.0.0/16"),))
DEVELOPMENT = AddressPolicy(True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_production_refuses_private_loopback_and_reserved_addresses(address: str) -> None:
    assert not PRODUCTION.allows(address)
    assert DEVELOPMENT.allows(address)


def test_production_allows_public_addresses_and_the_listed_networks() -> None:
    assert PRODUCTION.allows("36.92.1.10") and PRODUCTION.allows("2001:4860:4860::8888")
    assert PRODUCTION.allows("10.20.99.1") and not PRODUCTION.allows("10.21.0.1")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://sim.sultraprov.go.id/x", "https"),
        ("https://127.0.0.1/x", "private"),
        ("https://[::1]:8443/x", "private"),
        ("https://localhost/x", "loopback"),
        ("https://api.localhost/x", "loopback"),
        ("https://u:p@sim.sultraprov.go.id/x", "credentials"),
        ("https://sim.sultraprov.go.id/x#frag", "fragment"),
        ("https:///x", "absolute"),
        ("https://sim.sultraprov.go.id:70000/x", "not a URL"),
        ("https://sim.sultraprov.go.id/" + "x" * 2000, "longer"),
    ],
)
def test_production_refuses_and_says_why(url: str, says: str) -> None:
    with pytest.raises(InvalidEndpointUrl, match=says):
        check_url(url, PRODUCTION)


def test_development_allows_http_to_loopback_only() -> None:
    assert check_url("http://127.0.0.1:9000/hooks", DEVELOPMENT)
    assert check_url("http://localhost:9000/hooks", DEVELOPMENT)
    with pytest.raises(InvalidEndpointUrl, match="https"):
        check_url("http://192.168.1.5/hooks", DEVELOPMENT)
    assert check_url(" https://sim.sultraprov.go.id/hooks ", PRODUCTION) == (
        "https://sim.sultraprov.go.id/hooks"
    )
