"""Contract v2 as a task: an uploaded signed copy awaits ANS countersignature, recorded by an agent in one step."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from claims import services as claim_services
from claims.enums import ClaimKind, DocumentKind
from common.exceptions import InvalidInput, NotAllowed, StateConflict
from operators import services
from operators.enums import ContractStatus, EnrolmentDocumentKind
from operators.models import ContractV2
from operators.services.contracts import COUNTERSIGN_IN_FUTURE
from tests.factories import (
    GOOD,
    PDF,
    PROOF_KINDS,
    ContractFactory,
    OperatorFactory,
    ReferencingFactory,
    UserFactory,
    agent,
    operator_user,
    pdf,
    segur_campaign,
    validator,
)
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

# 22:30 UTC on 1 June is 00:30 on 2 June in Paris (summer time): the contract is signed on 2 June.
LATE_EVENING_UTC = datetime(2023, 6, 1, 22, 30, tzinfo=UTC)


@pytest.fixture
def draft():
    operator = OperatorFactory(legal_name="Omega Santé")
    ReferencingFactory(operator=operator)
    user = operator_user(operator)
    claim = claim_services.claim_create(
        operator=operator, campaign=segur_campaign(), kind=ClaimKind.ADVANCE, actor=user
    )
    return claim, user


def upload_contract(claim, user, at=None):
    return claim_services.document_upload(
        claim=claim, actor=user, kind=DocumentKind.CONTRACT_V2, uploaded_file=pdf("contrat-v2.pdf"), at=at
    )


def awaiting(**kwargs):
    return ContractFactory(status=ContractStatus.SIGNED_BY_OPERATOR, signed_on=date(2023, 6, 2), **kwargs)


# --- The task is created by the upload ------------------------------------------------------------


def test_uploading_the_signed_contract_on_a_claim_creates_a_contract_awaiting_countersignature(draft):
    claim, user = draft
    document = upload_contract(claim, user, at=LATE_EVENING_UTC)
    contract = ContractV2.objects.get(operator=claim.operator)
    assert contract.status == ContractStatus.SIGNED_BY_OPERATOR
    assert contract.signed_on == date(2023, 6, 2)
    assert contract.signed_document_sha256 == document.sha256
    assert f"Demande n° {claim.pk}" in contract.signed_document and "contrat-v2.pdf" in contract.signed_document


def test_a_second_upload_does_not_duplicate_the_task(draft):
    claim, user = draft
    upload_contract(claim, user)
    upload_contract(claim, user)
    assert ContractV2.objects.filter(operator=claim.operator).count() == 1


def test_an_operator_with_a_countersigned_contract_gets_no_new_task(draft):
    claim, user = draft
    ContractFactory(operator=claim.operator)
    upload_contract(claim, user)
    assert list(ContractV2.objects.filter(operator=claim.operator).values_list("status", flat=True)) == [
        ContractStatus.COUNTERSIGNED
    ]


def test_other_proofs_create_no_contract(draft):
    claim, user = draft
    claim_services.document_upload(claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf())
    assert not ContractV2.objects.exists()


def test_a_contract_uploaded_at_enrolment_becomes_a_task_when_the_operator_is_created():
    user = services.account_create(username="rep", email="rep@example.fr", password="Un-mot-de-passe-s0lide")
    documents = {kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in PROOF_KINDS}
    documents[EnrolmentDocumentKind.CONTRACT_V2] = SimpleUploadedFile("contrat.pdf", PDF, "application/pdf")
    enrolment = services.enrolment_submit(user=user, documents=documents, **GOOD)
    assert not ContractV2.objects.exists()  # no operator yet
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    contract = ContractV2.objects.get(operator=enrolment.operator)
    assert contract.status == ContractStatus.SIGNED_BY_OPERATOR
    uploaded = enrolment.documents.get(kind=EnrolmentDocumentKind.CONTRACT_V2)
    assert contract.signed_on == timezone.localdate(uploaded.uploaded_at)
    assert contract.signed_document_sha256 == uploaded.sha256


# --- The countersignature service ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operator", "staff_without_role", "anonymous"])
def test_only_instructors_and_validators_record_the_countersignature(who):
    contract = awaiting()
    actor = {
        "operator": lambda: operator_user(contract.operator),
        "staff_without_role": lambda: UserFactory(username="staff", is_staff=True),
        "anonymous": lambda: None,
    }[who]()
    with pytest.raises(NotAllowed):
        services.contract_v2_countersign(contract=contract, actor=actor, countersigned_on=date(2023, 6, 5))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED_BY_OPERATOR


def test_countersignature_before_the_operators_signature_is_refused():
    contract = awaiting()
    with pytest.raises(InvalidInput) as error:
        services.contract_v2_countersign(contract=contract, actor=agent(), countersigned_on=date(2023, 6, 1))
    assert error.value.errors == {
        "countersigned_on": ["La contre-signature ne peut précéder la signature de l'opérateur (02/06/2023)."]
    }


def test_countersignature_in_the_future_is_refused():
    contract = awaiting()
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(InvalidInput) as error:
        services.contract_v2_countersign(contract=contract, actor=agent(), countersigned_on=tomorrow)
    assert error.value.errors == {"countersigned_on": [COUNTERSIGN_IN_FUTURE]}


def test_countersignature_is_recorded_with_who_and_when_and_only_once():
    contract = awaiting()
    supervisor = validator()
    at = datetime(2023, 6, 10, 8, 0, tzinfo=UTC)
    contract = services.contract_v2_countersign(
        contract=contract, actor=supervisor, countersigned_on=date(2023, 6, 9), at=at
    )
    contract.refresh_from_db()
    assert (contract.status, contract.countersigned_on) == (ContractStatus.COUNTERSIGNED, date(2023, 6, 9))
    assert (contract.countersigned_by, contract.countersigned_at) == (supervisor, at)
    with pytest.raises(StateConflict):
        services.contract_v2_countersign(contract=contract, actor=supervisor, countersigned_on=date(2023, 6, 9))


def test_countersignature_defaults_to_today_in_paris():
    contract = awaiting()
    contract = services.contract_v2_countersign(contract=contract, actor=agent(), at=LATE_EVENING_UTC)
    assert contract.countersigned_on == date(2023, 6, 2)


# --- The agents' screens ---------------------------------------------------------------------------


def test_admin_to_do_filter_lists_contracts_awaiting_countersignature_and_counts_them(client):
    waiting = awaiting(operator=OperatorFactory(legal_name="Attente Santé"))
    ContractFactory(operator=OperatorFactory(legal_name="Signé Santé"))
    client.force_login(agent())
    url = reverse("admin:operators_contractv2_changelist")
    page = text(client.get(url))
    assert "Contrats opérateur MSSanté v2 — 1 à contresigner" in page
    assert "À contresigner" in page
    todo = text(client.get(url, {"a_faire": "contresigner"}))
    assert "Attente Santé" in todo and "Signé Santé" not in todo
    assert reverse("admin:operators_contractv2_countersign", args=[waiting.pk]) in todo
    found = text(client.get(url, {"q": waiting.operator.siren}))
    assert "Attente Santé" in found and "Signé Santé" not in found


def test_admin_records_the_countersignature_in_one_step(client):
    contract = awaiting()
    instructor = agent()
    client.force_login(instructor)
    url = reverse("admin:operators_contractv2_countersign", args=[contract.pk])
    form = text(client.get(url))
    assert f'value="{timezone.localdate():%d/%m/%Y}"' in form
    response = client.post(url, {"countersigned_on": "05/06/2023"}, follow=True)
    assert "Contre-signature de l'ANS enregistrée" in text(response)
    contract.refresh_from_db()
    assert (contract.status, contract.countersigned_on) == (ContractStatus.COUNTERSIGNED, date(2023, 6, 5))
    assert contract.countersigned_by == instructor


def test_admin_countersignature_with_a_bad_date_shows_the_reason_and_changes_nothing(client):
    contract = awaiting()
    client.force_login(agent())
    url = reverse("admin:operators_contractv2_countersign", args=[contract.pk])
    response = client.post(url, {"countersigned_on": "01/06/2023"})
    assert response.status_code == 200
    assert "La contre-signature ne peut précéder la signature de l'opérateur (02/06/2023)." in text(response)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED_BY_OPERATOR


def test_admin_countersignature_is_refused_to_staff_without_an_agent_role(client):
    contract = awaiting()
    client.force_login(UserFactory(username="staff", is_staff=True))
    client.post(
        reverse("admin:operators_contractv2_countersign", args=[contract.pk]), {"countersigned_on": "05/06/2023"}
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED_BY_OPERATOR


def test_operator_admin_page_shows_the_contract_status(client):
    contract = awaiting(operator=OperatorFactory())
    client.force_login(agent())
    page = text(client.get(reverse("admin:operators_operator_change", args=[contract.operator.pk])))
    assert "signé par l'opérateur le 02/06/2023 attend la contre-signature de l'ANS" in page
