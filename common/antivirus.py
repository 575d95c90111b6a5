"""A small client of ClamAV's daemon (clamd): PING and INSTREAM, over TCP or a unix socket.

Why not a PyPI client: the maintained ones wrap the same two commands; the protocol is a handful of
lines (https://docs.clamav.net/manual/Usage/Scanning.html#clamd). Commands use the `z` form (NUL
terminated): `zINSTREAM\\0`, then chunks each prefixed by its length (4 bytes, big-endian), then a
zero-length chunk; clamd answers `stream: OK\\0` or `stream: <signature> FOUND\\0`.

`CLAMD_ADDRESS` (settings) is `tcp://host:port` or `unix:///path/to/clamd.ctl`; empty means
scanning is off (the embedded default).
"""

import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

CHUNK = 64 * 1024


class ClamdUnavailable(Exception):
    """clamd could not be reached or answered something unexpected: the scan must be retried."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""


def enabled():
    return bool(settings.CLAMD_ADDRESS)


def _connect(address, timeout):
    parts = urlsplit(address)
    try:
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(parts.path)
            except OSError:
                sock.close()
                raise
            return sock
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except OSError as error:
        raise ClamdUnavailable(f"clamd injoignable ({address}) : {error}") from error
    raise ClamdUnavailable(f"CLAMD_ADDRESS invalide : {address!r} (tcp://hôte:port ou unix:///chemin).")


def _reply(sock):
    """Read up to the NUL that ends clamd's answer."""
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _command(address, timeout, send):
    try:
        with _connect(address, timeout) as sock:
            send(sock)
            return _reply(sock)
    except OSError as error:  # includes socket timeouts and a reset connection
        raise ClamdUnavailable(f"clamd injoignable ({address}) : {error}") from error


def scan_stream(fileobj, *, address=None, timeout=None):
    """Send `fileobj` (opened in binary mode) to clamd; return a ScanResult.

    Raises ClamdUnavailable when clamd cannot answer (down, timed out, size limit exceeded, …): the
    caller retries, and the file stays unserved meanwhile.
    """
    address = address or settings.CLAMD_ADDRESS
    timeout = timeout or settings.CLAMD_TIMEOUT

    def send(sock):
        sock.sendall(b"zINSTREAM\0")
        while chunk := fileobj.read(CHUNK):
            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
        sock.sendall(struct.pack("!L", 0))

    answer = _command(address, timeout, send)
    if answer == "stream: OK":
        return ScanResult(infected=False)
    if answer.startswith("stream: ") and answer.endswith(" FOUND"):
        return ScanResult(infected=True, signature=answer[len("stream: ") : -len(" FOUND")])
    # "INSTREAM size limit exceeded. ERROR", "… ERROR", or nothing: not a verdict.
    raise ClamdUnavailable(f"réponse inattendue de clamd : {answer!r}")


def ping(*, address=None, timeout=2):
    """(ok, detail): clamd answers PONG at `address` (default CLAMD_ADDRESS), for /readyz."""
    address = address or settings.CLAMD_ADDRESS
    if not address:
        return False, "CLAMD_ADDRESS non configuré"
    try:
        answer = _command(address, timeout, lambda sock: sock.sendall(b"zPING\0"))
    except ClamdUnavailable as error:
        return False, str(error)
    return (True, "PONG") if answer == "PONG" else (False, f"réponse inattendue : {answer!r}")
