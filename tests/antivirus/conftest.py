"""A real clamd for the antivirus tests, started once per session with a signature database written
here — never a downloaded one (freshclam needs a network these machines lack).

The database holds one MD5 hash signature (`.hdb`: `md5:size:name`) of `INFECTED`, a PDF generated at
random for the session: clamd reports it as `Segur.Test.Infected.UNOFFICIAL` and every other file as
clean. Loading that one-line database takes well under a second.

Fixtures
- `clamd` (session): a running clamd listening on a unix socket and on a free TCP port; its
  `unix_address` / `tcp_address` are CLAMD_ADDRESS values. Stopped at the end of the session.
- `scanning_on` (per test): CLAMD_ADDRESS set to that clamd.
- `infected_pdf()` / `clean_pdf()`: uploads the tests send.

Every test module here is marked `clamd` (tests/conftest.py: skipped without clamd, failed in CI).
"""

import hashlib
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from common import antivirus
from tests.conftest import clamd_binary

SIGNATURE = "Segur.Test.Infected"
# A PDF by its magic bytes (common.uploads accepts it) whose content no real file shares.
INFECTED = b"%PDF-1.4\n% infected sample\n" + secrets.token_hex(512).encode() + b"\n%%EOF\n"


@dataclass
class Clamd:
    unix_address: str
    tcp_address: str
    process: subprocess.Popen


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    binary = clamd_binary()
    if binary is None:
        pytest.skip("clamd is not installed")  # tests/conftest.py fails the test first when CI is set
    root = tmp_path_factory.mktemp("clamd")
    (root / "segur-test.hdb").write_text(f"{hashlib.md5(INFECTED).hexdigest()}:{len(INFECTED)}:{SIGNATURE}\n")
    port = _free_port()
    socket_path = root / "clamd.sock"
    (root / "clamd.conf").write_text(
        "\n".join(
            [
                "Foreground yes",
                f"LocalSocket {socket_path}",
                "TCPAddr 127.0.0.1",
                f"TCPSocket {port}",
                f"DatabaseDirectory {root}",
                f"TemporaryDirectory {root}",
                f"LogFile {root / 'clamd.log'}",
                "SelfCheck 0",  # no database reload during the session
                "",
            ]
        )
    )
    log = (root / "stdout.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(root / "clamd.conf")], stdout=log, stderr=subprocess.STDOUT)
    server = Clamd(unix_address=f"unix://{socket_path}", tcp_address=f"tcp://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 30
    while not (antivirus.ping(address=server.unix_address)[0] and antivirus.ping(address=server.tcp_address)[0]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"clamd did not start:\n{(root / 'stdout.log').read_text()}")
        time.sleep(0.05)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def scanning_on(settings, clamd):
    settings.CLAMD_ADDRESS = clamd.unix_address
    return clamd


def infected_pdf(name="facture.pdf"):
    return SimpleUploadedFile(name, INFECTED, content_type="application/pdf")


def clean_pdf(name="rapport.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n% clean\n" + secrets.token_hex(64).encode(), "application/pdf")
