"""The portal's bank-details page (issue 12): the operator's users ask, the account paid changes only
once an agent validates; another operator's user and agents get a 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from demo.operators import demo_iban
from operators import selectors, services
from operators.models import BankDetailsChange
from tests.factories import PDF, agent, pdf
from tests.portal.utils import check

pytestmark = pytest.mark.django_db

NEW_IBAN = demo_iban("987654324")
URL = "/portail/operateur/coordonnees-bancaires/"


def post(client, **overrides):
    data = {"iban": NEW_IBAN, "bic": "BNPAFRPP", "proof": pdf("rib.pdf"), "comment": "Changement de banque."}
    return client.post(URL, {**data, **overrides})


def test_the_operator_page_links_to_the_bank_details_page(client, alpha):
    client.force_login(alpha.user)
    assert URL in client.get(reverse("portal:operator")).text
    assert reverse("portal:bank_details") == URL


def test_a_member_asks_for_a_new_account_which_waits_for_the_agency(
    client, alpha, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(alpha.user)
    page = client.get(URL)
    assert page.status_code == 200 and "Aucun compte validé" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client)
    assert response.status_code == 302
    change = BankDetailsChange.objects.get()
    assert (change.operator, change.requested_by, change.iban) == (alpha.operator, alpha.user, NEW_IBAN)
    assert "alpha-user@example.fr" in mailoutbox[-1].to
    page = client.get(URL)
    assert "Changement en attente de validation" in page.text
    assert 'name="iban"' not in page.text  # one request at a time
    assert selectors.validated_bank_details(operator=alpha.operator) is None

    services.bank_details_validate(change=change, actor=agent())
    page = client.get(URL)
    assert f"IBAN se terminant par {NEW_IBAN[-4:]} — BIC BNPAFRPP" in page.text
    assert "Validée" in page.text


def test_a_bad_iban_or_a_file_that_is_not_a_rib_is_shown_on_the_form_and_nothing_is_written(client, alpha):
    client.force_login(alpha.user)
    response = post(client, iban="FR7630006000011234567890180")
    assert response.status_code == 400 and "IBAN invalide." in response.text
    response = post(client, proof=SimpleUploadedFile("rib.pdf", b"GIF89a not accepted"))
    assert response.status_code == 400 and "Type de fichier refusé" in response.text
    assert BankDetailsChange.objects.count() == 0


def test_another_operators_user_gets_404_on_the_rib_and_never_sees_the_request(client, alpha, beta):
    change = services.bank_details_request(
        operator=alpha.operator, actor=alpha.user, iban=NEW_IBAN, bic="BNPAFRPP", proof=pdf("rib.pdf", PDF + b"%a\n")
    )
    download = reverse("portal:bank_details_proof_download", args=[change.proof.pk])
    client.force_login(alpha.user)
    response = client.get(download)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    b"".join(response.streaming_content)

    client.force_login(beta.user)
    assert client.get(download).status_code == 404
    page = client.get(URL)
    assert page.status_code == 200 and f"Demande n° {change.pk}" not in page.text


def test_users_without_an_operator_and_agents_get_404(client, instructor, representative):
    for user in (representative, instructor):
        client.force_login(user)
        assert client.get(URL).status_code == 404
        assert client.post(URL, {"iban": NEW_IBAN, "bic": "BNPAFRPP"}).status_code == 404
    assert BankDetailsChange.objects.count() == 0


def test_anonymous_visitors_are_sent_to_the_login_page(client, alpha):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


def test_the_page_is_accessible_in_each_state(client, alpha):
    client.force_login(alpha.user)
    check(client, URL)
    check(client, URL, method="post", data={"iban": "FR00"}, expect=(400,))
    post(client)
    check(client, URL)
