"""Enrolment proofs and bank-details RIBs go through the same real clamd: an agent cannot validate on a
proof being scanned or quarantined, the representative must replace a quarantined one, nothing
unclean is served."""

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.test import APIClient

from common.enums import ScanStatus
from common.exceptions import GuardFailed, InvalidInput
from operators import services
from operators.enums import EnrolmentDocumentKind, EnrolmentState
from operators.models import BankDetailsProof
from tests.antivirus.conftest import SIGNATURE, clean_pdf, infected_pdf
from tests.factories import OperatorFactory, agent, api_key_for, operator_user
from tests.portal.conftest import ENROLMENT

pytestmark = [pytest.mark.django_db, pytest.mark.clamd]

FOUND = f"{SIGNATURE}.UNOFFICIAL"
KINDS = services.required_enrolment_proof_kinds(vat_liable=True)


def proofs(**overrides):
    files = {kind: clean_pdf(f"{kind}.pdf") for kind in KINDS}
    files.update(overrides)
    return files


@pytest.fixture
def representative(db):
    return services.account_create(username="omega-rep", email="rep@omega.example", password="Un-mot-de-passe-s0lide")


def test_an_infected_enrolment_proof_blocks_validation_until_replaced_and_is_never_served(
    scanning_on, representative, client, mailoutbox, django_capture_on_commit_callbacks
):
    kbis = EnrolmentDocumentKind.REPRESENTATIVE_ID
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = services.enrolment_submit(
            user=representative, documents=proofs(**{kbis: infected_pdf()}), **ENROLMENT
        )
    infected = enrolment.documents.get(kind=kbis)
    assert (infected.scan_status, infected.scan_signature) == (ScanStatus.INFECTED, FOUND)
    assert {d.scan_status for d in enrolment.documents.exclude(pk=infected.pk)} == {ScanStatus.CLEAN}
    assert enrolment.events.filter(action="document_infected").count() == 1
    told = [m for m in mailoutbox if representative.email in m.to and FOUND in m.body]
    assert len(told) == 1 and "Mise en quarantaine d'une pièce infectée" in told[0].body
    alerts = [m for m in mailoutbox if django_settings.AGENTS_NOTIFICATION_EMAIL in m.to and FOUND in m.body]
    assert len(alerts) == 1 and f"n° {enrolment.pk}" in alerts[0].subject

    # Never served: API, portal, admin (agents included).
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(representative)}")
    answer = api.get(f"/api/v1/enrolments/{enrolment.pk}/documents/{infected.pk}/download")
    assert (answer.status_code, answer.json()["code"]) == (409, "document_infected")
    client.force_login(representative)
    assert client.get(reverse("portal:enrolment_document_download", args=[infected.pk])).status_code == 409
    page = client.get(reverse("portal:enrolment")).content.decode()
    assert "infectée — en quarantaine" in page and FOUND in page
    instructor = agent()
    client.force_login(instructor)
    assert client.get(reverse("admin:operators_enrolmentdocument_download", args=[infected.pk])).status_code == 409
    admin_page = client.get(reverse("admin:operators_enrolment_change", args=[enrolment.pk])).content.decode()
    assert FOUND in admin_page

    with pytest.raises(GuardFailed) as refused:
        services.enrolment_validate(enrolment=enrolment, actor=instructor)
    assert "infectée" in refused.value.message and refused.value.code == "guard_failed"
    enrolment = services.enrolment_request_changes(
        enrolment=enrolment, actor=instructor, message="Pièce d'identité à renvoyer."
    )
    with pytest.raises(InvalidInput) as incomplete:  # the quarantined proof counts for nothing
        services.enrolment_resubmit(enrolment=enrolment, actor=representative)
    assert kbis in incomplete.value.errors
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = services.enrolment_resubmit(
            enrolment=enrolment, actor=representative, documents={kbis: clean_pdf()}
        )
    validated = services.enrolment_validate(enrolment=enrolment, actor=instructor)
    assert validated.state == EnrolmentState.VALIDATED


def test_an_enrolment_proof_being_scanned_blocks_validation_with_a_retry_code(scanning_on, representative):
    enrolment = services.enrolment_submit(user=representative, documents=proofs(), **ENROLMENT)  # scans not run
    assert {d.scan_status for d in enrolment.documents.all()} == {ScanStatus.PENDING}
    with pytest.raises(GuardFailed) as refused:
        services.enrolment_validate(enrolment=enrolment, actor=agent())
    assert refused.value.code == "document_scan_pending" and refused.value.http_status == 409
    assert "en cours d'analyse antivirus" in refused.value.message


def test_an_infected_rib_is_quarantined_and_the_change_cannot_be_validated(
    scanning_on, mailoutbox, django_capture_on_commit_callbacks
):
    operator = OperatorFactory(eligible=True)
    user = operator_user(operator)
    with django_capture_on_commit_callbacks(execute=True):
        change = services.bank_details_request(
            operator=operator, actor=user, iban="FR7630006000011234567890189", bic="AGRIFRPP", proof=infected_pdf()
        )
    proof = BankDetailsProof.objects.get(change=change)
    assert (proof.scan_status, proof.scan_signature) == (ScanStatus.INFECTED, FOUND)
    assert change.events.filter(action="document_infected").count() == 1
    assert any(FOUND in m.body for m in mailoutbox if django_settings.AGENTS_NOTIFICATION_EMAIL in m.to)
    with pytest.raises(GuardFailed):
        services.bank_details_validate(change=change, actor=agent())
    operator.refresh_from_db()
    assert operator.iban != "FR7630006000011234567890189"
