"""SIREN/SIRET checked against the company directory at enrolment, through a local HTTP server started by the
test that answers like "API Recherche d'entreprises" with recorded-shape bodies (tests/fixtures/company/)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from common.exceptions import InvalidInput
from operators import company, tasks
from operators.enums import CompanyCheck
from operators.models import Enrolment
from tests.factories import submit_enrolment as submit

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "company"
EMPTY = {"results": [], "total_results": 0, "page": 1, "per_page": 5, "total_pages": 0}


class Directory:
    """What the fake directory answers: the fixture named by `q`, an empty result, or `status` when set."""

    def __init__(self):
        self.status = 200
        self.queries = []


@pytest.fixture
def directory(settings):
    state = Directory()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query).get("q", [""])[0]
            state.queries.append(query)
            if state.status != 200 or url.path != "/search":
                self.send_response(state.status if state.status != 200 else 404)
                self.end_headers()
                return
            fixture = FIXTURES / f"{query}.json"
            body = fixture.read_bytes() if query.isdigit() and fixture.exists() else json.dumps(EMPTY).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings.COMPANY_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.COMPANY_API_TIMEOUT_SECONDS = 2
    yield state
    server.shutdown()
    server.server_close()


def test_open_company_and_establishment_are_verified_with_the_directory_name(directory, representative):
    enrolment = submit(representative)

    assert (enrolment.company_check, enrolment.company_name) == (CompanyCheck.VERIFIED, "OMEGA MESSAGERIE SANTE")
    assert enrolment.company_checked_at is not None
    assert directory.queries == ["73282932000074"]


def test_siren_alone_is_looked_up_by_siren(directory, representative):
    enrolment = submit(representative, siret="")

    assert enrolment.company_check == CompanyCheck.VERIFIED
    assert directory.queries == ["732829320"]


def test_closed_company_is_refused_in_french_and_nothing_is_written(directory, representative):
    with pytest.raises(InvalidInput) as refused:
        submit(representative, siren="552032534", siret="")

    assert refused.value.errors["siren"] == [company.CLOSED_COMPANY]
    assert not Enrolment.objects.exists()


def test_closed_establishment_is_refused(directory, representative):
    with pytest.raises(InvalidInput) as refused:
        submit(representative, siret="73282932000082")

    assert refused.value.errors["siret"] == [company.CLOSED_ESTABLISHMENT]


def test_unknown_siren_is_refused(directory, representative):
    with pytest.raises(InvalidInput) as refused:
        submit(representative, siren="404833048", siret="")

    assert refused.value.errors["siren"] == [company.UNKNOWN_SIREN]


def test_directory_down_accepts_the_enrolment_flagged_unverified_then_the_job_checks_it_again(
    directory, representative
):
    directory.status = 503
    enrolment = submit(representative)
    assert enrolment.company_check == CompanyCheck.UNVERIFIED

    assert tasks.recheck_companies.delay().get() == 0  # still down: nothing changes
    directory.status = 200
    assert tasks.recheck_companies.delay().get() == 1

    enrolment.refresh_from_db()
    assert (enrolment.company_check, enrolment.company_name) == (CompanyCheck.VERIFIED, "OMEGA MESSAGERIE SANTE")
    assert tasks.recheck_companies.delay().get() == 0  # safe to run twice


def test_directory_unreachable_is_the_degraded_mode_too(settings, representative):
    settings.COMPANY_API_URL = "http://127.0.0.1:9"  # nothing listens
    settings.COMPANY_API_TIMEOUT_SECONDS = 1

    assert submit(representative).company_check == CompanyCheck.UNVERIFIED


def test_answers_are_cached(directory):
    first = company.company_lookup(siren="732829320")
    second = company.company_lookup(siren="732829320")

    assert first == second and first.legal_name == "OMEGA MESSAGERIE SANTE"
    assert directory.queries == ["732829320"]


def test_no_directory_configured_checks_nothing(representative):
    assert submit(representative).company_check == CompanyCheck.NOT_CHECKED


def test_check_company_command_prints_the_company(directory, capsys):
    call_command("check_company", "732829320", "73282932000074")
    assert "OMEGA MESSAGERIE SANTE" in capsys.readouterr().out

    with pytest.raises(CommandError, match="inconnu"):
        call_command("check_company", "404833048")
