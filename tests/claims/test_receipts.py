"""Every (re)submission gives the operator an accusé de dépôt: a PDF stored with the claim (Paris
time, claim number, amounts, each proof's name, version and SHA-256), downloadable and e-mailed."""

import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from pypdf import PdfReader

from claims import services
from claims.enums import UPLOADABLE_KINDS, DocumentKind
from claims.models import ClaimEvent
from common.formatting import euros
from tests.factories import OperatorFactory, claim_in_state, operator_user

pytestmark = pytest.mark.django_db


def text_of(document):
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(page.extract_text() for page in reader.pages).replace("\u202f", " ")


def receipts(claim):
    return list(claim.documents.filter(kind=DocumentKind.RECEIPT).order_by("version"))


def test_submitting_stores_a_receipt_and_e_mails_it(mailoutbox, django_capture_on_commit_callbacks):
    claim, user = claim_in_state("draft")
    at = datetime(2026, 12, 1, 13, 9, tzinfo=UTC)  # 14:09 in Paris
    with django_capture_on_commit_callbacks(execute=True):
        claim = services.claim_submit(claim=claim, actor=user, at=at)
    [receipt] = receipts(claim)
    assert (receipt.version, receipt.content_type, receipt.original_name) == (
        1,
        "application/pdf",
        f"accuse-de-depot-{claim.pk}-v1.pdf",
    )
    text = text_of(receipt)
    assert "Accusé de dépôt" in text and f"n° {claim.pk}" in text
    assert "01/12/2026 14:09 (heure de Paris)" in text
    assert euros(claim.amount).replace("\u202f", " ").replace("\u00a0", " ") in text.replace("\u00a0", " ")
    assert euros(claim.amount_to_pay).replace("\u202f", " ").replace("\u00a0", " ") in text.replace("\u00a0", " ")
    proofs = claim.documents.filter(kind__in=UPLOADABLE_KINDS)
    assert proofs.exists()
    for proof in proofs:
        assert proof.original_name in text and proof.sha256 in text.replace(" ", "").replace("\n", "")
    assert ClaimEvent.objects.filter(claim=claim, action="receipt").count() == 1
    sent = [m for m in mailoutbox if m.attachments]
    assert len(sent) == 1 and user.email in sent[0].to
    assert "accusé de dépôt" in sent[0].body
    assert sent[0].attachments[0][0] == receipt.original_name


def test_a_resubmission_issues_a_new_receipt_version(django_capture_on_commit_callbacks):
    claim, user = claim_in_state("changes_requested")
    assert len(receipts(claim)) == 1
    claim = services.claim_resubmit(claim=claim, actor=user, comment="Voici le rapport.")
    _, second = receipts(claim)
    assert second.version == 2 and "renvoyée complétée" in text_of(second).lower()


def test_the_operator_downloads_its_receipt_and_no_other_operator_can(client):
    claim, user = claim_in_state("submitted")
    [receipt] = receipts(claim)
    client.force_login(user)
    page = client.get(reverse("portal:claim", args=[claim.pk])).content.decode()
    assert 'id="accuse-depot"' in page and reverse("portal:document_download", args=[receipt.pk]) in page
    response = client.get(reverse("portal:document_download", args=[receipt.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    client.force_login(operator_user(OperatorFactory(eligible=True), "curieux"))
    assert client.get(reverse("portal:document_download", args=[receipt.pk])).status_code == 404


def test_a_receipt_is_never_an_uploadable_kind():
    assert DocumentKind.RECEIPT not in UPLOADABLE_KINDS
