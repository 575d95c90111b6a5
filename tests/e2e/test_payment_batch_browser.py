"""A valideur orders a payment batch, downloads its SEPA file and imports the bank's return; the
operator then sees its claim paid in the portal. Through the real admin and portal in Chromium."""

import hashlib
import xml.etree.ElementTree as ET

from claims.enums import ClaimState
from claims.models import Claim, PaymentAttempt, PaymentBatch
from funding.calendar import paris_today
from tests.claims.bank_files import camt054, validate
from tests.factories import claim_in_state, validator

PAIN_001 = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def test_valideur_orders_a_batch_imports_the_return_and_the_operator_sees_its_claim_paid(page, login, tmp_path):
    claim, operator_user = claim_in_state("approved")
    claim.operator.iban, claim.operator.bic = "FR7630006000011234567890189", "AGRIFRPP"
    claim.operator.save()
    payer = validator("valideur-lot")

    login(page, payer.username, "pw", path="/admin/login/")
    page.goto("/admin/claims/claim/")
    page.check(f"input[name=_selected_action][value='{claim.pk}']")
    page.select_option("select[name=action]", "create_payment_batch")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "Lot n° 1 créé" in page.inner_text(".messagelist")
    lines = page.inner_text("#batch-lines")
    assert "FR76 •••• •••• 0189" in lines and "AGRIFRPP" in lines

    with page.expect_download() as download_info:
        page.click("#batch-download")
    download_info.value.save_as(tmp_path / "lot.xml")
    content = (tmp_path / "lot.xml").read_bytes()
    batch = PaymentBatch.objects.get()
    assert hashlib.sha256(content).hexdigest() == batch.sha256
    line = PaymentAttempt.objects.get(claim=claim)
    end_to_end = ET.fromstring(content).find(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", PAIN_001).text
    assert end_to_end == line.end_to_end_id

    # The bank books the transfer: its camt.054 debit notification comes back to the valideur.
    notification = camt054(
        entries=[{"e2e": end_to_end, "amount": line.transfer_amount, "booked_on": paris_today().isoformat()}]
    )
    validate(notification, "camt.054.001.02")
    page.set_input_files("#return-file", {"name": "camt054.xml", "mimeType": "application/xml", "buffer": notification})
    with page.expect_navigation():
        page.click("input[name=import-return]")
    assert "1 paiement(s) confirmé(s)" in page.inner_text(".messagelist")
    assert "Réglé" in page.inner_text("#batch-lines")
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.PAID
    page.context.clear_cookies()

    login(page, operator_user.username, "pw")
    page.goto(f"/portail/demandes/{claim.pk}/")
    assert "Payée" in page.inner_text("main")
    history = page.inner_text("#historique")
    assert "Ordre de paiement émis (lot 1)" in history and "Paiement confirmé par la banque" in history
