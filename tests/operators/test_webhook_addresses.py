"""SSRF: a webhook receiver must have a global unicast address, by an explicit allowlist (not
`ipaddress`'s `is_global`, which calls several IPv4-embedding and special IPv6 forms public)."""

import ipaddress

import pytest

from common.exceptions import InvalidInput
from operators import webhooks
from operators.services import validate_webhook_url

REFUSED = [
    # IPv4 special-purpose blocks
    "0.0.0.1",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.7",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 forms embedding an IPv4 address
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:7f00:1",  # IPv4-translated
    "64:ff9b::7f00:1",  # NAT64
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
    "2002:a9fe:a9fe::",  # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    # other special IPv6 blocks
    "::",
    "::1",
    "100::1",  # discard-only
    "2001:2::1",  # benchmarking
    "2001:10::1",  # ORCHID
    "2001:db8::1",  # documentation
    "3fff::1",  # documentation
    "fc00::1",  # unique local
    "fd12:3456::1",  # unique local
    "fe80::1",  # link-local
    "fec0::1",  # site-local
    "ff02::1",  # multicast
    "ff0e::1",  # global-scope multicast
]
ACCEPTED = ["8.8.8.8", "1.1.1.1", "193.51.24.1", "2a00:1450:4007:80e::200e", "2606:4700:4700::1111", "2001:4860::8888"]


def url_for(address):
    return f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"


@pytest.mark.parametrize("address", REFUSED)
def test_special_addresses_are_not_public(address):
    assert webhooks.is_public_address(address) is False


@pytest.mark.parametrize("address", ACCEPTED)
def test_global_unicast_addresses_are_public(address):
    assert webhooks.is_public_address(address) is True


def test_the_allowlist_is_stricter_than_python_is_global_where_it_errs():
    """The issue's findings: Python 3.11 calls these global; the allowlist refuses them."""
    for address in ("::127.0.0.1", "64:ff9b::7f00:1", "2002:a9fe:a9fe::", "fec0::1"):
        assert not webhooks.is_public_address(address), address


@pytest.mark.parametrize("address", REFUSED)
def test_a_receiver_on_a_special_address_is_refused_at_registration(address, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(InvalidInput) as error:
        validate_webhook_url(url_for(address))
    assert "url" in error.value.errors


@pytest.mark.parametrize("address", ACCEPTED)
def test_a_receiver_on_a_global_address_is_accepted_at_registration(address, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert validate_webhook_url(url_for(address)) == url_for(address)


@pytest.fixture
def no_connection(monkeypatch, settings):
    """Delivery is checked for real (no private networks allowed); any connection attempt is recorded."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    attempts = []

    def create_connection(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(webhooks.socket, "create_connection", create_connection)
    return attempts


@pytest.mark.parametrize("address", REFUSED)
def test_delivery_to_a_special_address_literal_never_connects(address, no_connection):
    with pytest.raises(webhooks.DeliveryError, match="non publique"):
        webhooks.post(url_for(address), b"{}", {})
    assert no_connection == []


@pytest.mark.parametrize("address", REFUSED)
def test_delivery_to_a_name_resolving_to_a_special_address_never_connects(address, no_connection, monkeypatch):
    family = 10 if ipaddress.ip_address(address).version == 6 else 2
    monkeypatch.setattr(
        webhooks.socket, "getaddrinfo", lambda host, port, *a, **k: [(family, 1, 6, "", (address, port))]
    )
    with pytest.raises(webhooks.DeliveryError, match="non publique"):
        webhooks.post("https://hooks.example.fr/segur", b"{}", {})
    assert no_connection == []


def test_delivery_is_refused_when_any_resolved_address_is_special(no_connection, monkeypatch):
    answers = [(2, 1, 6, "", ("8.8.8.8", 443)), (10, 1, 6, "", ("64:ff9b::a00:1", 443, 0, 0))]
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(webhooks.DeliveryError, match="non publique"):
        webhooks.post("https://hooks.example.fr/segur", b"{}", {})
    assert no_connection == []


def test_delivery_to_a_global_address_connects_to_it(no_connection, monkeypatch):
    monkeypatch.setattr(
        webhooks.socket, "getaddrinfo", lambda host, port, *a, **k: [(10, 1, 6, "", ("2a00:1450:4007:80e::200e", port))]
    )
    with pytest.raises(webhooks.DeliveryError):
        webhooks.post("https://hooks.example.fr/segur", b"{}", {})
    assert no_connection == [("2a00:1450:4007:80e::200e", 443)]
