"""Signing and sending webhook payloads (HMAC-SHA256 over `timestamp.body`), standard library only.

The receiver verifies with its secret (see docs/api.md, "Webhooks"):

    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Segur-Signature"])
"""

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "X-Segur-Signature"
TIMESTAMP_HEADER = "X-Segur-Timestamp"
DELIVERY_HEADER = "X-Segur-Delivery"
EVENT_HEADER = "X-Segur-Event"
USER_AGENT = "financement-segur-webhooks/1.0"


class DeliveryError(Exception):
    """The payload could not be handed to the receiver (network, TLS, refused address)."""


def sign(secret, timestamp, body):
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret, timestamp, body, signature, *, tolerance=300, now=None):
    """True when `signature` is ours for this body and the timestamp is fresh (replays refused)."""
    now = time.time() if now is None else now
    try:
        if abs(now - int(timestamp)) > tolerance:
            return False
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


# Receivers must be on the Internet: an explicit allowlist, not `ip.is_global` (Python 3.11 calls
# `::127.0.0.1`, `64:ff9b::7f00:1`, `2002:a9fe:a9fe::` and `fec0::1` global).
# IPv4: unicast outside IANA's special-purpose registry (RFC 6890 and successors) and multicast.
_IPV4_REFUSED = [
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata services)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
]
# IPv6: only the global unicast block 2000::/3 (RFC 4291). Everything outside it is refused: the
# IPv4-embedding forms (::a.b.c.d, ::ffff:0:0/96, 64:ff9b::/96, 64:ff9b:1::/48), discard-only
# 100::/64, ULA fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast ff00::/8. Inside it,
# these special blocks are refused too:
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_IPV6_REFUSED = [
    ipaddress.ip_network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4 (embeds an IPv4 address)
        "3fff::/20",  # documentation (RFC 9637)
    )
]


def is_public_address(address):
    """True when `address` (a string) is a global unicast address a receiver may have."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return not any(ip in block for block in _IPV4_REFUSED)
    return ip in _IPV6_GLOBAL_UNICAST and not any(ip in block for block in _IPV6_REFUSED)


def _checked_address(url):
    """The address to connect to for `url`: resolved once, every answer public (no SSRF into our
    network). The connection then goes to this very address (see _PinnedHTTPSHandler), so a name
    that resolves elsewhere a moment later (DNS rebinding) cannot slip past the check.
    None when private networks are allowed (tests, closed networks): the name is resolved as usual."""
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return None
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise DeliveryError(f"Nom d'hôte introuvable : {parts.hostname}") from error
    for info in infos:
        if not is_public_address(info[4][0]):
            raise DeliveryError("Adresse de destination non publique refusée.")
    return infos[0][4][0]


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    """HTTPS to a host name, connected to the address already checked: certificate and SNI still
    use the name (TLS verifies the name as usual), only the DNS lookup is not done twice."""

    def __init__(self, address):
        super().__init__()
        self._address = address

    def https_open(self, req):
        return self.do_open(self._connection, req)

    def _connection(self, host, **kwargs):
        connection = http.client.HTTPSConnection(host, context=ssl.create_default_context(), **kwargs)
        address = self._address

        def connect_to_checked_address(host_and_port, *args, **kwargs):
            return socket.create_connection((address, host_and_port[1]), *args, **kwargs)

        connection._create_connection = connect_to_checked_address
        return connection


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: never follow it (it could lead to http or inside)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post(url, body, headers, *, timeout=None):
    """POST `body` to `url`; return the HTTP status code received. Raises DeliveryError."""
    if not url.lower().startswith("https://"):
        raise DeliveryError("Seules les adresses https sont acceptées.")
    address = _checked_address(url)
    request = urllib.request.Request(url, data=body, headers={**headers, "User-Agent": USER_AGENT}, method="POST")  # noqa: S310 (https only, checked above)
    handlers = [_NoRedirect]
    if address is not None:
        # Straight to the checked address: no proxy from the environment either (it would resolve the name again).
        handlers += [urllib.request.ProxyHandler({}), _PinnedHTTPSHandler(address)]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout or settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DeliveryError(str(getattr(error, "reason", error))[:400]) from error
