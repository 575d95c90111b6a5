"""The client's address: one function for throttles, django-axes and the logs.

`X-Forwarded-For` is read only when the peer (REMOTE_ADDR) is one of `TRUSTED_PROXIES`; the list is
then read from the right, skipping our own proxies, and the first address that is not one of them is
the client. With no trusted proxy (the default) the peer is the client and the header is ignored, so
a client cannot pick its own address to dodge a limit.
"""

import functools
import ipaddress

from django.conf import settings


@functools.cache
def _networks(proxies):
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(address):
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    return address is not None and any(address in network for network in networks)


def client_ip(request):
    """The client's IP address as a string (the peer's when no trusted proxy stands in between)."""
    peer = request.META.get("REMOTE_ADDR", "")
    if not is_trusted_proxy(_address(peer)):
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a garbled hop: trust nothing further left
        if not is_trusted_proxy(address):
            return str(address)
    return peer
