"""No CLAMD_ADDRESS (the embedded default, `make run`): scanning is off, proofs are usable as uploaded
and say why, generated documents are never scanned, and the admin shows that scanning is off."""

from datetime import timedelta

import pytest
from django.urls import reverse

from claims import services
from claims.enums import DocumentKind
from common import scanning
from common.enums import ScanStatus
from tests.factories import agent, pdf, ready_advance

pytestmark = pytest.mark.django_db


def test_without_clamd_proofs_are_accepted_unscanned_with_the_reason_and_served(client):
    claim, user = ready_advance()
    document = services.document_upload(claim=claim, actor=user, kind=DocumentKind.OTHER, uploaded_file=pdf())
    assert (document.scan_status, document.scan_detail) == (ScanStatus.NOT_SCANNED, scanning.SCANNING_OFF)
    assert document.is_usable
    client.force_login(user)
    response = client.get(reverse("portal:document_download", args=[document.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")
    submitted = services.claim_submit(claim=claim, actor=user)
    receipt = submitted.documents.get(kind=DocumentKind.RECEIPT)
    assert (receipt.scan_status, receipt.scan_detail) == (ScanStatus.NOT_SCANNED, scanning.GENERATED)


def test_the_admin_says_when_scanning_is_off(client, settings):
    client.force_login(agent())
    assert "Antivirus désactivé" in client.get(reverse("admin:index")).content.decode()
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:3310"
    assert "Antivirus désactivé" not in client.get(reverse("admin:index")).content.decode()


def test_a_generated_letter_is_not_scanned_even_with_clamd_configured(settings):
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:3310"
    assert scanning.initial_scan_fields(generated=True)["scan_status"] == ScanStatus.NOT_SCANNED
    assert scanning.initial_scan_fields()["scan_status"] == ScanStatus.PENDING


def test_proofs_left_pending_when_scanning_is_switched_off_are_accepted_by_the_sweep(settings):
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:3310"
    claim, _user = ready_advance()  # stored pending; their scans (after commit) never ran
    assert {d.scan_status for d in claim.documents.all()} == {ScanStatus.PENDING}
    settings.CLAMD_ADDRESS = ""
    assert scanning.rescan_pending(older_than=timedelta(0)) == claim.documents.count()
    assert {d.scan_status for d in claim.documents.all()} == {ScanStatus.NOT_SCANNED}
