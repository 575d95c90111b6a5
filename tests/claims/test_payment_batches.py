"""Payment batches: ordering under four-eyes, one live batch per claim, the SEPA file as stored,
confirmation by hand or by the bank's return files (pain.002 / camt.054), offsets of issued recoveries."""

import hashlib
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import xmlschema
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from sepaxml.validation import ValidationError

from claims import payments, recoveries, sepa, services
from claims.enums import AttemptState, BatchState, ClaimState, RecoveryState
from claims.models import Claim, ClaimEvent, Payment, PaymentAttempt, PaymentBatch
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from funding.calendar import paris_today
from tests.claims.bank_files import camt054, pain002, validate
from tests.factories import (
    BIC,
    IBAN,
    agent,
    approved,
    approved_claim,
    batch_of,
    claim_in_state,
    line_of,
    paid,
    ready_balance,
    validator,
)

pytestmark = pytest.mark.django_db
PAIN_001 = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def today():
    return paris_today().isoformat()


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# --- Creating a batch --------------------------------------------------------------------------------


def test_an_instructor_cannot_create_a_batch_and_nothing_is_written(client):
    claim = approved_claim()
    with pytest.raises(NotAllowed):
        payments.payment_batch_create(actor=agent("autre-instructeur"), claims=[claim.pk])
    client.force_login(agent("autre-instructeur"))
    response = client.post(
        reverse("admin:claims_claim_changelist"), {"action": "create_payment_batch", "_selected_action": [claim.pk]}
    )
    assert response.status_code == 403
    response = client.post(reverse("admin:claims_paymentbatch_create"))
    assert response.status_code == 403
    assert not PaymentBatch.objects.exists() and not PaymentAttempt.objects.exists()
    assert not claim.events.filter(action="payment_order").exists()


def test_a_batch_pays_the_amount_to_pay_on_the_validated_account_and_logs_each_claim(client):
    claim = approved_claim()
    outcome = batch_of(claim)
    batch, line = outcome.batch, line_of(claim)
    assert (batch.number, batch.state, outcome.left_out) == (1, BatchState.GENERATED, [])
    assert (line.iban, line.bic, line.transfer_amount) == (IBAN, BIC, claim.amount_to_pay)
    assert claim.amount_to_pay != claim.amount  # VAT included for an operator liable to it

    with batch.file.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == batch.sha256
    root = ET.fromstring(content)
    assert root.find(".//p:GrpHdr/p:MsgId", PAIN_001).text == batch.message_id
    (tx,) = root.findall(".//p:CdtTrfTxInf", PAIN_001)
    assert tx.find("p:PmtId/p:EndToEndId", PAIN_001).text == line.end_to_end_id == f"SEGUR-L1-D{claim.pk}"
    assert tx.find("p:Amt/p:InstdAmt", PAIN_001).text == f"{claim.amount_to_pay:.2f}"
    assert tx.find("p:CdtrAcct/p:Id/p:IBAN", PAIN_001).text == IBAN

    event = claim.events.get(action="payment_order")
    assert event.comment.startswith("Ordre de paiement émis (lot 1)")
    assert "FR76 •••• •••• 0189" in event.comment and IBAN not in event.comment
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED  # ordered is not paid

    client.force_login(agent())  # an instructor may read and download, not order
    url = reverse("admin:claims_paymentbatch_download", args=[batch.pk])
    first, second = client.get(url), client.get(url)
    assert first.content == second.content == content
    page = client.get(reverse("admin:claims_paymentbatch_change", args=[batch.pk])).content.decode()
    assert "FR76 •••• •••• 0189" in page and line.end_to_end_id in page and "AGRIFRPP" in page


def test_a_credit_transfer_file_is_checked_against_the_pain_001_schema_parsed_once(monkeypatch):
    """Every batch file is validated against pain.001.001.03 (a file the bank would refuse is never
    stored); the schema is parsed once per process, not for every batch."""
    first = batch_of(approved_claim()).batch
    with first.file.open("rb") as stored:
        content = stored.read()
    assert sepa.validate(content, "pain.001.001.03") == content
    broken = content.replace(b"<IBAN>", b"<IBAN>FR", 1)  # an IBAN the schema's pattern refuses
    with pytest.raises(ValidationError):
        sepa.validate(broken, "pain.001.001.03")

    parses = []
    monkeypatch.setattr(xmlschema, "XMLSchema", lambda *args, **kwargs: parses.append(args))
    batch_of(approved_claim())
    assert parses == []


def test_the_approvers_claim_is_left_out_of_that_approvers_batch_and_said():
    boss = agent("chef", group="valideur")
    boss.groups.add(*agent("instructeur-x").groups.all())  # holds both roles
    own, _ = claim_in_state("in_review")
    own = services.claim_approve(claim=own, actor=boss)
    other = approved_claim()
    for claim in (own, other):
        claim.operator.iban, claim.operator.bic = IBAN, BIC
        claim.operator.save()
    outcome = batch_of(own, other, actor=boss)
    assert list(outcome.batch.lines.values_list("claim_id", flat=True)) == [other.pk]
    assert len(outcome.left_out) == 1 and f"n° {own.pk}" in outcome.left_out[0]
    assert "quatre yeux" in outcome.left_out[0]
    with pytest.raises(GuardFailed):  # alone, nothing is left to pay: nothing is written
        batch_of(own, actor=boss)
    assert PaymentBatch.objects.count() == 1


def test_a_claim_already_batched_cannot_be_batched_again(client):
    claim = approved_claim()
    first = batch_of(claim).batch
    # Service: left out, and said.
    with pytest.raises(GuardFailed) as error:
        batch_of(claim, actor=validator("valideur2"))
    assert "déjà dans le lot n° 1" in " ".join(error.value.errors["left_out"])
    # Admin: the same refusal as a message, no second batch.
    client.force_login(validator("valideur2"))
    response = client.post(
        reverse("admin:claims_claim_changelist"),
        {"action": "create_payment_batch", "_selected_action": [claim.pk]},
        follow=True,
    )
    assert any("Aucune demande" in m and "déjà dans le lot n° 1" in m for m in messages_of(response))
    assert PaymentBatch.objects.count() == 1
    # Database: a second live line for the claim is refused whatever the code says.
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAttempt.objects.create(
            batch=first,
            claim=claim,
            end_to_end_id="SEGUR-OTHER",
            creditor_name="x",
            iban=IBAN,
            bic=BIC,
            amount_excl_vat=claim.amount,
            vat=claim.vat,
            amount_to_pay=claim.amount_to_pay,
            transfer_amount=claim.amount_to_pay,
        )


def test_an_operator_with_payment_blockers_is_left_out_with_the_reason():
    good, bad = approved_claim(), approved_claim(iban="FR7630006000011234567890188")  # bad check digits
    outcome = batch_of(good, bad)
    assert [line.claim_id for line in outcome.batch.lines.all()] == [good.pk]
    assert "coordonnées bancaires" in outcome.left_out[0]


def test_a_cancelled_batch_needs_a_reason_and_frees_its_claims():
    claim = approved_claim()
    batch = batch_of(claim).batch
    with pytest.raises(InvalidInput):
        payments.payment_batch_cancel(batch=batch, actor=validator(), reason=" ")
    with pytest.raises(NotAllowed):
        payments.payment_batch_cancel(batch=batch, actor=agent(), reason="Erreur.")
    batch = payments.payment_batch_cancel(batch=batch, actor=validator(), reason="Mauvaise date d'exécution.")
    assert batch.state == BatchState.CANCELLED
    assert line_of(claim).state == AttemptState.CANCELLED
    assert "Mauvaise date d'exécution." in claim.events.get(action="payment_order_cancelled").comment
    assert batch.events.get(action="cancel").comment == "Mauvaise date d'exécution."
    again = batch_of(claim).batch
    assert line_of(claim).end_to_end_id == f"SEGUR-L{again.number}-D{claim.pk}" != f"SEGUR-L1-D{claim.pk}"


# --- Confirming by hand ------------------------------------------------------------------------------


def test_a_future_or_pre_approval_payment_date_is_refused():
    claim = approved_claim()
    with pytest.raises(InvalidInput) as error:
        services.claim_mark_paid(
            claim=claim, actor=validator(), reference="VIR-1", paid_on=paris_today() + timedelta(days=1)
        )
    assert "futur" in error.value.message
    with pytest.raises(InvalidInput) as error:
        services.claim_mark_paid(
            claim=claim, actor=validator(), reference="VIR-1", paid_on=paris_today() - timedelta(days=1)
        )
    assert "précéder l'approbation" in error.value.message
    assert not Payment.objects.filter(claim=claim).exists()
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED


def test_confirming_by_hand_closes_the_batch_line_and_settles_the_batch():
    claim = approved_claim()
    batch = batch_of(claim).batch
    claim = services.claim_mark_paid(claim=claim, actor=validator(), reference="VIR-MAIN")
    assert claim.state == ClaimState.PAID and claim.payment.attempt == line_of(claim)
    assert line_of(claim).state == AttemptState.PAID
    assert PaymentBatch.objects.get(pk=batch.pk).state == BatchState.SETTLED


# --- The bank's return files -------------------------------------------------------------------------


def test_pain002_and_camt054_pair_one_paid_one_payable_again_and_reimport_changes_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    accepted, returned = approved_claim(), approved_claim()
    batch = batch_of(accepted, returned).batch
    ok, ko = line_of(accepted), line_of(returned)
    status_report = pain002(
        original_message_id=batch.message_id,
        transactions=[
            (ok.end_to_end_id, "ACSC", "", ok.transfer_amount, None),
            (ko.end_to_end_id, "RJCT", "AC04", ko.transfer_amount, None),
        ],
        created=f"{today()}T09:30:00",
    )
    notification = camt054(
        entries=[
            {"e2e": ok.end_to_end_id, "amount": ok.transfer_amount, "booked_on": today()},
            {"e2e": ko.end_to_end_id, "amount": ko.transfer_amount, "booked_on": today(), "reason": "AC04"},
        ]
    )
    validate(status_report, "pain.002.001.03")
    validate(notification, "camt.054.001.02")

    with django_capture_on_commit_callbacks(execute=True):
        report = payments.bank_return_import(content=status_report, file_name="psr.xml", actor=validator())
    assert (len(report.paid), len(report.returned), report.unmatched, report.errors) == (1, 1, [], [])
    accepted, returned = Claim.objects.get(pk=accepted.pk), Claim.objects.get(pk=returned.pk)
    assert accepted.state == ClaimState.PAID
    assert (accepted.payment.paid_on, accepted.payment.amount) == (paris_today(), accepted.amount_to_pay)
    assert (accepted.payment.amount_excl_vat, accepted.payment.vat) == (accepted.amount, accepted.vat)
    assert returned.state == ClaimState.APPROVED and returned.payment is None
    assert (line_of(returned).state, line_of(returned).return_reason) == (AttemptState.RETURNED, "AC04 — compte clos")
    assert PaymentBatch.objects.get(pk=batch.pk).state == BatchState.PARTLY_RETURNED
    event = returned.events.get(action="payment_returned")
    assert "AC04 — compte clos" in event.comment and "coordonnées bancaires" in event.comment
    assert any(
        "AC04 — compte clos" in m.body and returned.operator.contact_email in m.to and "RIB" in m.body
        for m in mailoutbox
    )

    # The camt.054 of the same transfers changes nothing more; each file imported twice neither.
    state = (list(ClaimEvent.objects.values_list("pk", flat=True)), list(Payment.objects.values_list("pk", flat=True)))
    report = payments.bank_return_import(content=notification, file_name="ntf.xml", actor=validator())
    assert (report.paid, report.returned, len(report.unchanged)) == ([], [], 2)
    for content in (status_report, notification):
        again = payments.bank_return_import(content=content, file_name="copie.xml", actor=validator())
        assert again.already_imported is not None and "rien n'a changé" in again.summary()
    assert state == (
        list(ClaimEvent.objects.values_list("pk", flat=True)),
        list(Payment.objects.values_list("pk", flat=True)),
    )
    # The returned claim is payable again, on a new line with a new EndToEndId.
    batch_of(returned)
    assert PaymentAttempt.objects.filter(claim=returned).count() == 2
    assert line_of(returned).end_to_end_id != ko.end_to_end_id


def test_a_return_after_booking_moves_the_claim_back_from_paid_to_approved():
    claim = approved_claim()
    batch = batch_of(claim).batch
    line = line_of(claim)
    booked = camt054(entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today()}])
    payments.bank_return_import(content=booked, file_name="a.xml")
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.PAID
    assert PaymentBatch.objects.get(pk=batch.pk).state == BatchState.SETTLED
    back = camt054(
        msg_id="NTF-0002",
        entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today(), "reason": "MD07"}],
    )
    validate(back, "camt.054.001.02")
    report = payments.bank_return_import(content=back, file_name="b.xml")
    assert len(report.returned) == 1
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.state == ClaimState.APPROVED and claim.payment is None
    kept = Payment.objects.get(claim=claim)
    assert kept.returned_at is not None and kept.return_reason == "MD07 — titulaire du compte décédé"
    event = claim.events.get(action="return_payment")
    assert (event.from_state, event.to_state) == (ClaimState.PAID, ClaimState.APPROVED)
    assert PaymentBatch.objects.get(pk=batch.pk).state == BatchState.PARTLY_RETURNED
    # One settled payment per claim stays a database rule; a returned one does not count.
    services.claim_mark_paid(claim=claim, actor=validator(), reference="VIR-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(claim=claim, amount=1, paid_on=paris_today(), reference="VIR-3")


def test_an_unmatched_line_is_reported_and_changes_nothing(capsys):
    claim = approved_claim()
    batch_of(claim)
    content = camt054(entries=[{"e2e": "SEGUR-L99-D99", "amount": "10.00", "booked_on": today()}])
    report = payments.bank_return_import(content=content, file_name="x.xml")
    assert len(report.unmatched) == 1 and "SEGUR-L99-D99" in report.unmatched[0]
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED
    assert line_of(claim).state == AttemptState.ORDERED


def test_a_different_amount_is_an_anomaly_not_a_payment():
    claim = approved_claim()
    batch_of(claim)
    line = line_of(claim)
    content = camt054(entries=[{"e2e": line.end_to_end_id, "amount": "1.00", "booked_on": today()}])
    report = payments.bank_return_import(content=content, file_name="x.xml")
    assert report.paid == [] and "montant" in report.errors[0]
    assert line_of(claim).state == AttemptState.ORDERED


def test_a_whole_message_rejected_returns_every_line_of_its_batch():
    first, second = approved_claim(), approved_claim()
    batch = batch_of(first, second).batch
    content = pain002(original_message_id=batch.message_id, transactions=[], group="RJCT")
    validate(content, "pain.002.001.03")
    report = payments.bank_return_import(content=content, file_name="rjct.xml")
    assert len(report.returned) == 2
    assert set(batch.lines.values_list("state", flat=True)) == {AttemptState.RETURNED}


def test_hostile_or_foreign_files_are_refused_in_french():
    for content in (b"not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', b"<Document/>"):
        with pytest.raises(InvalidInput):
            payments.bank_return_import(content=content, file_name="x.xml")


def test_the_management_command_imports_once(tmp_path):
    claim = approved_claim()
    batch_of(claim)
    line = line_of(claim)
    path = tmp_path / "camt.xml"
    path.write_bytes(
        camt054(entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today()}])
    )
    out = StringIO()
    call_command("import_bank_return", str(path), stdout=out)
    assert "1 paiement(s) confirmé(s)" in out.getvalue()
    out = StringIO()
    call_command("import_bank_return", str(path), stdout=out)
    assert "déjà été importé" in out.getvalue()
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.PAID


def test_the_admin_imports_a_return_from_the_batch_page(client):
    claim = approved_claim()
    batch = batch_of(claim).batch
    line = line_of(claim)
    content = camt054(entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today()}])

    client.force_login(agent())
    upload = SimpleUploadedFile("camt.xml", content, content_type="application/xml")
    assert client.post(reverse("admin:claims_paymentbatch_import"), {"return_file": upload}).status_code == 403
    client.force_login(validator())
    upload = SimpleUploadedFile("camt.xml", content, content_type="application/xml")
    response = client.post(
        reverse("admin:claims_paymentbatch_import"), {"return_file": upload, "batch": batch.pk}, follow=True
    )
    assert any("1 paiement(s) confirmé(s)" in m for m in messages_of(response))
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.PAID


# --- Offsets and the order of payments ---------------------------------------------------------------


def test_an_issued_recovery_offsets_the_operators_next_payment():
    advance, user = claim_in_state("paid")
    case = recoveries.recovery_open(claim=advance, amount=100, grounds="Parc surévalué.", actor=agent())
    case = recoveries.recovery_decide(
        recovery=case, decision="confirmed", reason="r", actor=agent(), at=timezone.now() + timedelta(days=31)
    )
    case = recoveries.recovery_issue_order(recovery=case, reference="OR-1", actor=validator())
    balance = approved(services.claim_submit(claim=ready_balance(advance, user), actor=user))
    balance.operator.iban, balance.operator.bic = IBAN, BIC
    balance.operator.save()
    batch = batch_of(balance).batch
    line = line_of(balance)
    assert (line.offset, line.transfer_amount) == (Decimal("100.00"), balance.amount_to_pay - Decimal("100.00"))
    assert list(line.offset_recoveries.all()) == [case]
    assert batch.total == line.transfer_amount
    assert f"indu n° {case.pk}" in balance.events.get(action="payment_order").comment
    content = camt054(entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today()}])
    payments.bank_return_import(content=content, file_name="c.xml")
    case.refresh_from_db()
    balance = Claim.objects.get(pk=balance.pk)
    assert (case.state, case.offset_payment) == (RecoveryState.OFFSET, balance.payment)
    assert balance.payment.amount == balance.amount_to_pay  # paid in full: part transferred, part offset


def test_a_balance_is_paid_only_after_its_advance_payment_is_confirmed():
    advance, user = claim_in_state("approved")
    advance.operator.iban, advance.operator.bic = IBAN, BIC
    advance.operator.save()
    balance = approved(services.claim_submit(claim=ready_balance(advance, user), actor=user))
    outcome = batch_of(advance, balance)
    assert [line.claim_id for line in outcome.batch.lines.all()] == [advance.pk]
    assert "après le paiement de l'avance" in outcome.left_out[0]
    with pytest.raises(GuardFailed):  # by hand neither, while the advance is only ordered
        services.claim_mark_paid(claim=balance, actor=validator(), reference="VIR-B")
    line = line_of(advance)
    content = camt054(entries=[{"e2e": line.end_to_end_id, "amount": line.transfer_amount, "booked_on": today()}])
    payments.bank_return_import(content=content, file_name="a.xml")
    assert [line.claim_id for line in batch_of(balance).batch.lines.all()] == [balance.pk]


def test_a_paid_claim_is_not_payable_twice():
    claim, _ = claim_in_state("paid")
    with pytest.raises((GuardFailed, StateConflict)):
        batch_of(claim)
    assert paid  # the factory pays outside any batch: such payments stay possible by hand
