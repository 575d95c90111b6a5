"""Enrolment (docs/spec/SPEC.md §4a): from sign-up to validation, and refusals that leave nothing half-created."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from claims import services as claim_services
from claims.enums import ClaimKind
from common.exceptions import FileTooLarge, InvalidInput, NotAllowed, StateConflict, UnsupportedFileType
from common.roles import operator_id_of
from operators import selectors, services
from operators.enums import EnrolmentDocumentKind, EnrolmentState, OperatorKind, ReferencingStatus
from operators.models import Enrolment, EnrolmentDocument, EnrolmentEvent, Membership, Operator, Referencing
from tests.factories import (
    GOOD,
    PDF,
    PNG,
    PROOF_KINDS,
    OperatorFactory,
    ReferencingFactory,
    agent,
    proofs,
    segur_campaign,
)
from tests.factories import submit_enrolment as submit

pytestmark = pytest.mark.django_db


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def nothing_written(settings, files_before):
    assert Enrolment.objects.count() == 0
    assert EnrolmentDocument.objects.count() == 0
    assert EnrolmentEvent.objects.count() == 0
    assert Operator.objects.filter(siren="732829320").count() == 0
    assert Membership.objects.count() == 0
    assert stored_files(settings) == files_before


def test_enrolment_walks_from_sign_up_to_validation_and_lets_the_user_create_claims(
    representative, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = submit(representative)
    assert enrolment.state == EnrolmentState.PENDING
    assert enrolment.siren == "732829320"
    assert enrolment.iban == "FR7630006000011234567890189"
    assert sorted(d.kind for d in enrolment.documents.all()) == sorted(PROOF_KINDS)
    assert operator_id_of(representative) is None  # nothing is active before validation
    assert mailoutbox[-1].to == ["instruction@localhost"]

    instructor = agent()
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = services.enrolment_request_changes(
            enrolment=enrolment, actor=instructor, message="Le RIB est illisible."
        )
    assert enrolment.state == EnrolmentState.CHANGES_REQUESTED
    assert enrolment.agent_message == "Le RIB est illisible."
    assert mailoutbox[-1].to == ["rep@omega.example"]
    assert "Le RIB est illisible." in mailoutbox[-1].body

    enrolment = services.enrolment_resubmit(
        enrolment=enrolment,
        actor=representative,
        documents={EnrolmentDocumentKind.BANK_DETAILS: SimpleUploadedFile("rib.png", PNG, "image/png")},
        comment="RIB lisible joint.",
    )
    assert enrolment.state == EnrolmentState.PENDING
    bank = selectors.latest_enrolment_documents(enrolment=enrolment)[EnrolmentDocumentKind.BANK_DETAILS]
    assert (bank.version, bank.content_type) == (2, "image/png")

    enrolment = services.enrolment_validate(enrolment=enrolment, actor=instructor, comment="Pièces conformes.")
    assert enrolment.state == EnrolmentState.VALIDATED
    operator = enrolment.operator
    assert (operator.siren, operator.legal_name, operator.kind) == ("732829320", GOOD["legal_name"], "developer")
    assert (operator.iban, operator.bic) == ("FR7630006000011234567890189", "AGRIFRPP")
    assert operator.referencing_number == "REF-OMEGA-1"
    representative.refresh_from_db()
    assert operator_id_of(representative) == operator.pk
    assert [e.action for e in enrolment.events.order_by("seq")] == ["submit", "request_changes", "resubmit", "validate"]
    assert selectors.enrolment_audit_problem(enrolment=enrolment) is None

    claim = claim_services.claim_create(
        operator=operator, campaign=segur_campaign(), kind=ClaimKind.ADVANCE, actor=representative
    )
    assert claim.operator == operator


def test_a_user_without_validated_enrolment_cannot_create_claims(representative):
    enrolment = submit(representative)
    with pytest.raises(NotAllowed):
        claim_services.claim_create(
            operator=OperatorFactory(), campaign=segur_campaign(), kind=ClaimKind.ADVANCE, actor=representative
        )
    services.enrolment_reject(enrolment=enrolment, actor=agent(), reason="Entité inconnue de l'ANS.")
    assert operator_id_of(representative) is None
    assert Operator.objects.filter(siren="732829320").count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "732829321"),
        ("siren", "12345678"),
        ("iban", "FR7630006000011234567890180"),
        ("bic", "NOTABIC"),
        ("legal_name", " "),
        ("referencing_number", ""),
        ("kind", "reseller"),
        ("siret", "12345678200010"),
    ],
)
def test_bad_declaration_is_refused_with_field_errors_and_nothing_written(representative, settings, field, value):
    files_before = stored_files(settings)
    with pytest.raises(InvalidInput) as error:
        submit(representative, **{field: value})
    assert field in error.value.errors
    nothing_written(settings, files_before)


def test_missing_document_is_refused_and_nothing_written(representative, settings):
    files_before = stored_files(settings)
    documents = proofs()
    del documents[EnrolmentDocumentKind.VAT_CERTIFICATE]
    with pytest.raises(InvalidInput) as error:
        submit(representative, documents=documents)
    assert error.value.errors == {"vat_certificate": ["Pièce manquante : Attestation d'assujettissement à la TVA."]}
    nothing_written(settings, files_before)


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"MZ\x90\x00" + b"\x00" * 64, UnsupportedFileType), (b"", InvalidInput), (PDF + b"0" * 4096, FileTooLarge)],
)
def test_refused_proof_names_the_document_and_nothing_is_written(representative, settings, content, error):
    settings.DOCUMENT_MAX_BYTES = 2048
    files_before = stored_files(settings)
    bad = {EnrolmentDocumentKind.REPRESENTATIVE_ID: SimpleUploadedFile("id.pdf", content, "application/pdf")}
    with pytest.raises(error) as raised:
        submit(representative, documents=proofs(**bad))
    assert "representative_id" in raised.value.errors
    nothing_written(settings, files_before)


def test_storage_failure_midway_removes_the_files_already_stored(representative, settings, monkeypatch):
    files_before = stored_files(settings)

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.enrolment, "append_enrolment_event", boom)
    with pytest.raises(RuntimeError):
        submit(representative)
    nothing_written(settings, files_before)


def test_buyer_names_its_provider_by_siren_and_number_and_validation_links_it(representative):
    with pytest.raises(InvalidInput) as error:
        submit(representative, kind=OperatorKind.BUYER)
    assert set(error.value.errors) >= {"provider_siren", "provider_referencing_number"}
    provider = OperatorFactory(kind=OperatorKind.DEVELOPER)
    ReferencingFactory(operator=provider, number="REF-PROV-1")
    enrolment = submit(
        representative,
        kind=OperatorKind.BUYER,
        provider_siren=provider.siren,
        provider_referencing_number="REF-PROV-1",
    )
    assert enrolment.provider is None  # declared only: the link is made when an agent validates
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    assert enrolment.operator.provider == provider
    assert enrolment.provider == provider


def test_one_open_enrolment_per_user_and_none_for_members_or_agents(representative):
    submit(representative)
    with pytest.raises(StateConflict):
        submit(representative)
    with pytest.raises(NotAllowed):
        submit(agent())


def test_referencing_number_of_another_operator_is_refused(representative):
    ReferencingFactory(number="REF-TAKEN")
    with pytest.raises(InvalidInput) as error:
        submit(representative, referencing_number="REF-TAKEN")
    assert "referencing_number" in error.value.errors


def test_validation_updates_an_existing_operator_and_keeps_its_referencing(representative):
    operator = OperatorFactory(siren="732829320", legal_name="Ancien nom")
    Referencing.objects.create(operator=operator, number="REF-OMEGA-1", granted_on="2023-01-01")
    enrolment = submit(representative)
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    operator.refresh_from_db()
    assert enrolment.operator == operator
    assert operator.legal_name == GOOD["legal_name"]
    assert operator.referencings.filter(status=ReferencingStatus.VALID).count() == 1


def test_failed_validation_writes_nothing(representative):
    operator = OperatorFactory(siren="732829320", legal_name="Ancien nom")
    Referencing.objects.create(operator=operator, number="REF-OTHER", granted_on="2023-01-01")
    enrolment = submit(representative)
    with pytest.raises(InvalidInput):
        services.enrolment_validate(enrolment=enrolment, actor=agent())
    operator.refresh_from_db()
    enrolment.refresh_from_db()
    assert operator.legal_name == "Ancien nom"
    assert enrolment.state == EnrolmentState.PENDING
    assert not Membership.objects.filter(user=representative).exists()
    assert [e.action for e in enrolment.events.all()] == ["submit"]


def test_only_instructors_decide_and_only_the_representative_resubmits(representative):
    enrolment = submit(representative)
    with pytest.raises(NotAllowed):
        services.enrolment_validate(enrolment=enrolment, actor=representative)
    other = services.account_create(username="intrus", email="intrus@example.fr", password="Un-mot-de-passe-s0lide")
    enrolment = services.enrolment_request_changes(enrolment=enrolment, actor=agent(), message="RIB ?")
    with pytest.raises(NotAllowed):
        services.enrolment_resubmit(enrolment=enrolment, actor=other)
    abilities = services.enrolment_abilities(user=representative, enrolment=enrolment)
    assert abilities == {"request_changes": False, "resubmit": True, "validate": False, "reject": False}


def test_decisions_require_a_message_and_the_right_state(representative):
    enrolment = submit(representative)
    instructor = agent()
    with pytest.raises(InvalidInput):
        services.enrolment_request_changes(enrolment=enrolment, actor=instructor, message=" ")
    with pytest.raises(InvalidInput):
        services.enrolment_reject(enrolment=enrolment, actor=instructor, reason="")
    services.enrolment_validate(enrolment=enrolment, actor=instructor)
    with pytest.raises(StateConflict):
        services.enrolment_reject(enrolment=enrolment, actor=instructor, reason="Trop tard.")


def test_enrolment_history_is_append_only_and_tamper_evident(representative):
    enrolment = submit(representative)
    event = enrolment.events.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        EnrolmentEvent.objects.filter(pk=event.pk).update(comment="x")
    Enrolment.objects.filter(pk=enrolment.pk).update(audit_head="f" * 64)
    enrolment.refresh_from_db()
    assert "tête de chaîne" in selectors.enrolment_audit_problem(enrolment=enrolment)
    # The same check runs in `verify_audit`, beside the claims' chains.

    with pytest.raises(CommandError, match=f"enrôlement n° {enrolment.pk}"):
        call_command("verify_audit")


@pytest.mark.parametrize(
    ("username", "email", "password", "field"),
    [
        ("", "a@example.fr", "Un-mot-de-passe-s0lide", "username"),
        ("omega-rep", "autre@example.fr", "Un-mot-de-passe-s0lide", "username"),
        ("new", "REP@omega.example", "Un-mot-de-passe-s0lide", "email"),
        ("new", "pas-un-email", "Un-mot-de-passe-s0lide", "email"),
        ("new", "new@example.fr", "1234", "password"),
    ],
)
def test_account_creation_refuses_duplicates_and_weak_passwords(representative, username, email, password, field):
    with pytest.raises(InvalidInput) as error:
        services.account_create(username=username, email=email, password=password)
    assert field in error.value.errors


@pytest.mark.parametrize("user", [None, AnonymousUser()], ids=["nobody", "anonymous"])
def test_nobody_and_an_anonymous_visitor_have_no_open_enrolment(user):
    assert selectors.open_enrolment_of(user=user) is None
