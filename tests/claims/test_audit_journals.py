"""verify_audit walks every hash-chained journal (common.audit): claims, enrolments, bank-details
changes and payment batches. A row rewritten in any of them is named; checkpoints cover all four."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from claims import payments
from claims.audit import CHAINS, audit_anchor
from operators import services as operator_services
from operators.enums import OperatorKind
from tests.factories import PDF, OperatorFactory, claim_in_state, operator_user, pdf, validator

pytestmark = pytest.mark.django_db

IBAN, BIC = "FR7630006000011234567890189", "AGRIFRPP"


def a_claim():
    claim, _ = claim_in_state("paid")
    return claim


def an_enrolment():
    user = operator_services.account_create(
        username="omega-rep", email="rep@omega.example", password="Un-mot-de-passe-s0lide"
    )
    kinds = operator_services.required_enrolment_proof_kinds(vat_liable=True)
    return operator_services.enrolment_submit(
        user=user,
        documents={kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in kinds},
        legal_name="Omega Messagerie Santé",
        siren="732829320",
        siret="73282932000074",
        kind=OperatorKind.DEVELOPER,
        referencing_number="REF-OMEGA-1",
        iban=IBAN,
        bic=BIC,
        contact_email="contact@omega.example",
        vat_liable=True,
    )


def a_bank_details_change():
    operator = OperatorFactory(iban=IBAN, bic=BIC)
    return operator_services.bank_details_request(
        operator=operator,
        actor=operator_user(operator),
        iban="FR7630004000031234567890143",
        bic="BNPAFRPP",
        proof=pdf("rib.pdf"),
    )


def a_payment_batch():
    claim, _ = claim_in_state("approved")
    claim.operator.iban, claim.operator.bic = IBAN, BIC
    claim.operator.save()
    return payments.payment_batch_create(actor=validator(), claims=[claim.pk]).batch


JOURNALS = {
    "claims": (a_claim, "demande n° {pk}"),
    "enrolments": (an_enrolment, "enrôlement n° {pk}"),
    "bank_details": (a_bank_details_change, "coordonnées bancaires n° {pk}"),
    "payment_batches": (a_payment_batch, "lot de paiement (identifiant {pk})"),
}


def tamper(sql, params):
    """What a database administrator could do: bypass the append-only trigger and rewrite a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_every_hash_chained_journal_is_walked():
    assert sorted(chain.key for chain in CHAINS) == sorted(JOURNALS)


def test_verify_audit_counts_every_journal_when_intact(capsys):
    for build, _label in JOURNALS.values():
        build()
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "Journal d'audit intègre" in out
    assert "1 changements de coordonnées bancaires, 1 lots de paiement" in out


@pytest.mark.parametrize("journal", sorted(JOURNALS))
def test_a_rewritten_row_is_detected_in_every_journal(journal):
    build, label = JOURNALS[journal]
    parent = build()
    event = parent.events.order_by("seq").first()
    table = event._meta.db_table
    call_command("verify_audit")
    tamper(f"UPDATE {table} SET comment = %s WHERE id = %s", ["Réécrit après coup.", event.pk])
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    message = str(error.value)
    assert label.format(pk=parent.pk) in message
    assert f"événement n° {event.pk}" in message and "modifié" in message


@pytest.mark.parametrize("journal", ["bank_details", "payment_batches"])
def test_a_state_changed_outside_the_journal_is_detected(journal):
    build, label = JOURNALS[journal]
    parent = build()
    other_state = "refused" if journal == "bank_details" else "cancelled"
    type(parent).objects.filter(pk=parent.pk).update(state=other_state)
    with pytest.raises(CommandError, match="modifié hors du journal") as error:
        call_command("verify_audit")
    assert label.format(pk=parent.pk) in str(error.value)


def test_a_checkpoint_records_the_heads_of_every_journal():
    parents = {journal: build() for journal, (build, _label) in JOURNALS.items()}
    document = json.loads(audit_anchor().document)
    for journal, parent in parents.items():
        parent.refresh_from_db()
        assert document[journal][str(parent.pk)][1] == parent.audit_head
