"""Fraud signals (issue 12): a shared IBAN, a proof file (same SHA-256) reused across operators or proof
kinds; an open flag keeps the operator out of payments until an agent clears it with a reason."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from claims import services as claim_services
from claims.enums import DocumentKind
from common.exceptions import InvalidInput, NotAllowed, StateConflict
from demo.operators import demo_iban
from operators import selectors, services
from operators.enums import FraudFlagKind, OperatorKind
from operators.models import FraudFlag
from tests.factories import (
    GOOD,
    PDF,
    PROOF_KINDS,
    OperatorFactory,
    agent,
    operator_user,
    pdf,
    ready_advance,
    segur_campaign,
    validator,
)

pytestmark = pytest.mark.django_db

IBAN_A, IBAN_B, SHARED = demo_iban("123456782"), demo_iban("987654324"), demo_iban("555123454")


def operator_with(iban, name):
    return OperatorFactory(legal_name=name, iban=iban, bic="AGRIFRPP")


def open_kinds(operator):
    return sorted(flag.kind for flag in selectors.open_fraud_flags(operator=operator))


def test_an_iban_requested_by_a_second_operator_flags_both_and_blocks_their_payments():
    first = operator_with(SHARED, "Alpha")
    second = operator_with(IBAN_B, "Beta")
    services.bank_details_request(
        operator=second, actor=operator_user(second), iban=SHARED, bic="AGRIFRPP", proof=pdf("rib.pdf")
    )
    assert open_kinds(first) == open_kinds(second) == [FraudFlagKind.SHARED_IBAN]
    flag = selectors.open_fraud_flags(operator=first).get()
    assert SHARED in flag.detail and "Beta" in flag.detail and "en attente" in flag.detail
    assert selectors.payment_blockers(operator=first) == [
        "Alpha : 1 signal(aux) de fraude à lever par un agent (IBAN partagé entre plusieurs opérateurs)."
    ]


def test_clearing_a_flag_with_a_reason_unblocks_the_operator():
    first, second = operator_with(SHARED, "Alpha"), operator_with(IBAN_B, "Beta")
    services.bank_details_request(
        operator=second, actor=operator_user(second), iban=SHARED, bic="AGRIFRPP", proof=pdf("rib.pdf")
    )
    flag = selectors.open_fraud_flags(operator=first).get()
    with pytest.raises(NotAllowed):
        services.fraud_flag_clear(flag=flag, actor=operator_user(first), reason="Moi-même.")
    with pytest.raises(InvalidInput) as error:
        services.fraud_flag_clear(flag=flag, actor=agent(), reason=" ")
    assert error.value.message == services.CLEAR_REASON_REQUIRED

    cleared = services.fraud_flag_clear(flag=flag, actor=validator(), reason="Filiale : même trésorerie, vérifié.")
    assert (cleared.cleared_by.username, cleared.clear_reason) == ("valideur1", "Filiale : même trésorerie, vérifié.")
    assert cleared.cleared_at is not None
    assert selectors.payment_blockers(operator=first) == []
    assert open_kinds(second) == [FraudFlagKind.SHARED_IBAN]  # each party's flag is cleared on its own
    with pytest.raises(StateConflict):
        services.fraud_flag_clear(flag=flag, actor=agent(), reason="Encore.")


def test_one_file_filed_as_every_enrolment_proof_is_flagged_and_weighs_on_the_operator_once_validated():
    user = services.account_create(username="omega", email="o@omega.example", password="Un-mot-de-passe-s0lide")
    same = {kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in PROOF_KINDS}
    enrolment = services.enrolment_submit(user=user, documents=same, **GOOD)
    flag = FraudFlag.objects.get(kind=FraudFlagKind.REUSED_FILE)
    assert (flag.operator_id, flag.enrolment_id) == (None, enrolment.pk)
    assert "4 fois" in flag.detail and "Relevé d'identité bancaire" in flag.detail
    assert list(selectors.open_fraud_flags_of_enrolment(enrolment=enrolment)) == [flag]

    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    operator = enrolment.operator
    assert list(selectors.open_fraud_flags(operator=operator)) == [flag]
    assert len(selectors.payment_blockers(operator=operator)) == 1

    call_command("detect_fraud_signals", stdout=StringIO())  # adopted by the operator, never doubled
    flag.refresh_from_db()
    assert flag.operator_id == operator.pk
    assert FraudFlag.objects.count() == 1


def test_an_enrolment_declaring_an_operators_iban_is_flagged_with_that_operator():
    existing = operator_with(SHARED, "Alpha")
    user = services.account_create(username="omega", email="o@omega.example", password="Un-mot-de-passe-s0lide")
    proofs = {kind: pdf(f"{kind}.pdf") for kind in PROOF_KINDS}
    enrolment = services.enrolment_submit(user=user, documents=proofs, **{**GOOD, "iban": SHARED})
    assert open_kinds(existing) == [FraudFlagKind.SHARED_IBAN]
    assert [f.kind for f in selectors.open_fraud_flags_of_enrolment(enrolment=enrolment)] == [FraudFlagKind.SHARED_IBAN]
    assert not FraudFlag.objects.filter(kind=FraudFlagKind.REUSED_FILE).exists()


def test_a_claim_proof_identical_to_another_operators_proof_flags_both():
    campaign = segur_campaign()
    first, first_user = ready_advance(campaign=campaign)
    second, second_user = ready_advance(campaign=campaign)
    assert not FraudFlag.objects.exists()
    same = b"%PDF-1.4\n% a report copied from another operator\n%%EOF\n"
    claim_services.document_upload(
        claim=first, actor=first_user, kind=DocumentKind.OTHER, uploaded_file=pdf("a.pdf", same)
    )
    claim_services.document_upload(
        claim=second, actor=second_user, kind=DocumentKind.OTHER, uploaded_file=pdf("b.pdf", same)
    )
    assert open_kinds(first.operator) == open_kinds(second.operator) == [FraudFlagKind.REUSED_FILE]


def test_a_claim_proof_identical_to_a_bank_details_proof_is_a_reuse_across_kinds():
    claim, user = ready_advance()
    same = b"%PDF-1.4\n% the same scan\n%%EOF\n"
    operator = claim.operator
    services.bank_details_request(operator=operator, actor=user, iban=IBAN_A, bic="AGRIFRPP", proof=pdf("r.pdf", same))
    assert not FraudFlag.objects.exists()
    claim_services.document_upload(
        claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf("c.pdf", same)
    )
    assert open_kinds(operator) == [FraudFlagKind.REUSED_FILE]


def test_a_new_version_of_the_same_proof_or_a_buyers_copy_of_its_providers_report_is_no_signal():
    campaign = segur_campaign()
    provider_claim, provider_user = ready_advance(campaign=campaign)
    report = b"%PDF-1.4\n% provider's conformity report\n%%EOF\n"
    for _ in range(2):
        claim_services.document_upload(
            claim=provider_claim,
            actor=provider_user,
            kind=DocumentKind.CONFORMITY_REPORT,
            uploaded_file=pdf("r.pdf", report),
        )
    buyer = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider_claim.operator)
    buyer_claim, buyer_user = ready_advance(operator=buyer, campaign=campaign)
    claim_services.document_upload(
        claim=buyer_claim,
        actor=buyer_user,
        kind=DocumentKind.PROVIDER_CONFORMITY_REPORT,
        uploaded_file=pdf("r.pdf", report),
    )
    assert not FraudFlag.objects.exists()


def test_the_command_finds_what_was_written_around_the_services_and_is_idempotent():
    first, second, third = operator_with(SHARED, "Alpha"), operator_with(SHARED, "Beta"), operator_with(IBAN_A, "C")
    out = StringIO()
    call_command("detect_fraud_signals", stdout=out)
    assert out.getvalue().startswith("2 nouveau(x) signal(aux)")
    assert open_kinds(first) == open_kinds(second) == [FraudFlagKind.SHARED_IBAN]
    assert open_kinds(third) == []

    services.fraud_flag_clear(flag=selectors.open_fraud_flags(operator=first).get(), actor=agent(), reason="Vu.")
    out = StringIO()
    call_command("detect_fraud_signals", stdout=out)
    assert out.getvalue().startswith("0 nouveau(x) signal(aux) de fraude ; 1 ouvert(s)")
    assert FraudFlag.objects.count() == 2
    assert open_kinds(first) == []  # a cleared flag is not raised again


def test_storing_a_proof_looks_up_files_only_and_storing_an_iban_bank_details_only(django_assert_num_queries):
    """Each detection reads the tables of what was stored: a file hash is looked for among the proofs
    (claims, enrolments, bank details: three queries), an IBAN among the operators, changes and enrolments."""
    with django_assert_num_queries(3) as captured:
        services.fraud_signals_detect(sha256s=["0" * 64])
    assert all('."sha256" IN' in query["sql"] for query in captured.captured_queries)
    with django_assert_num_queries(3) as captured:
        services.fraud_signals_detect(ibans=[demo_iban(1)])
    assert all('."iban" IN' in query["sql"] for query in captured.captured_queries)
