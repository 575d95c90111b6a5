"""common.antivirus against a real clamd: PING and INSTREAM over a unix socket and TCP, and /readyz."""

import io

import pytest

from common import antivirus
from tests.antivirus.conftest import INFECTED, SIGNATURE, _free_port

pytestmark = pytest.mark.clamd


def test_ping_answers_on_both_addresses_and_says_why_when_clamd_is_unreachable(clamd, tmp_path):
    assert antivirus.ping(address=clamd.unix_address) == (True, "PONG")
    assert antivirus.ping(address=clamd.tcp_address) == (True, "PONG")
    ok, detail = antivirus.ping(address=f"unix://{tmp_path / 'absent.sock'}")
    assert not ok and "clamd injoignable" in detail
    ok, detail = antivirus.ping(address="http://127.0.0.1:3310")
    assert not ok and "CLAMD_ADDRESS invalide" in detail


def test_instream_names_the_signature_of_an_infected_stream_and_passes_a_clean_one(clamd):
    found = antivirus.scan_stream(io.BytesIO(INFECTED), address=clamd.tcp_address, timeout=10)
    assert found == antivirus.ScanResult(infected=True, signature=f"{SIGNATURE}.UNOFFICIAL")
    # Several INSTREAM chunks (64 KiB each): the verdict is on the whole stream.
    big = io.BytesIO(b"%PDF-1.4\n" + b"x" * (3 * antivirus.CHUNK + 17))
    assert antivirus.scan_stream(big, address=clamd.unix_address, timeout=10) == antivirus.ScanResult(infected=False)


@pytest.mark.django_db
def test_readyz_reports_clamd_only_when_configured(client, settings, clamd):
    assert "clamd" not in client.get("/readyz").json()
    settings.CLAMD_ADDRESS = clamd.tcp_address
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()["clamd"]) == (200, "up")
    settings.CLAMD_ADDRESS = f"tcp://127.0.0.1:{_free_port()}"
    answer = client.get("/readyz")
    # Reported, not required: uploads wait « en cours d'analyse » while clamd is down.
    assert (answer.status_code, answer.json()["clamd"]) == (200, "down")
