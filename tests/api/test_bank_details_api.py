"""POST /api/v1/operator/bank-details: the portal's service behind a token (issue 12)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from demo.operators import demo_iban
from operators import selectors
from operators.models import BankDetailsChange
from tests.factories import OperatorFactory, agent, operator_user, pdf, token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/operator/bank-details"
NEW_IBAN = demo_iban("987654324")


@pytest.fixture
def member():
    operator = OperatorFactory(legal_name="Alpha", iban=demo_iban("123456782"), bic="AGRIFRPP")
    return operator_user(operator)


def test_a_member_requests_a_change_that_waits_for_an_agent(member):
    response = token_client(member).post(
        URL, {"iban": NEW_IBAN, "bic": "BNPAFRPP", "proof": pdf("rib.pdf")}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["state_label"], body["iban"]) == ("pending", "En attente de validation", NEW_IBAN)
    operator = member.membership.operator
    operator.refresh_from_db()
    assert selectors.validated_bank_details(operator=operator)[0] == demo_iban("123456782")

    again = token_client(member).post(
        URL, {"iban": demo_iban("555123454"), "bic": "BNPAFRPP", "proof": pdf("rib.pdf")}, format="multipart"
    )
    assert again.status_code == 409 and again.json()["code"] == "bank_details_pending"


def test_a_bad_iban_or_file_is_refused_with_field_errors_and_nothing_written(member):
    client = token_client(member)
    response = client.post(URL, {"iban": "FR00", "bic": "BNPAFRPP", "proof": pdf()}, format="multipart")
    assert response.status_code == 400 and "iban" in response.json()["errors"]
    response = client.post(
        URL, {"iban": NEW_IBAN, "bic": "BNPAFRPP", "proof": SimpleUploadedFile("x.pdf", b"GIF89a")}, format="multipart"
    )
    assert response.status_code == 415
    assert BankDetailsChange.objects.count() == 0


def test_agents_cannot_request(member):
    response = token_client(agent()).post(
        URL, {"iban": NEW_IBAN, "bic": "BNPAFRPP", "proof": pdf()}, format="multipart"
    )
    assert response.status_code == 403
    assert BankDetailsChange.objects.count() == 0
