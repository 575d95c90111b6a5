"""Claim proofs go through a real clamd after upload: « en cours d'analyse » until clean, only clean
proofs count for filing and are served, an infected one is quarantined, the operator told, the agents
alerted, and a clamd that is down leaves the proof pending (retried) with nothing served."""

import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.test import APIClient

from claims.enums import ClaimState, DocumentKind
from common import scanning
from common.enums import ScanStatus
from common.tasks import SCAN_MAX_RETRIES, scan_stored_file
from config.celery import app as celery_app
from tests.antivirus.conftest import SIGNATURE, clean_pdf, infected_pdf
from tests.factories import agent, api_key_for, ready_advance

pytestmark = [pytest.mark.django_db, pytest.mark.clamd]

FOUND = f"{SIGNATURE}.UNOFFICIAL"  # clamd's name for a signature outside its official databases


def api_for(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api


def upload(client, claim, file, kind=DocumentKind.CONFORMITY_REPORT):
    response = client.post(reverse("portal:claim_upload", args=[claim.pk]), {"kind": kind, "file": file})
    assert response.status_code == 302, response.content
    return claim.documents.filter(kind=kind).order_by("-version").first()


def downloads(client, api, claim, document, instructor):
    """Status codes of the API, portal and admin downloads of `document`."""
    answers = {"api": api.get(f"/api/v1/claims/{claim.pk}/documents/{document.pk}/download")}
    client.force_login(claim_user(claim))
    answers["portal"] = client.get(reverse("portal:document_download", args=[document.pk]))
    client.force_login(instructor)
    answers["admin"] = client.get(reverse("admin:claims_document_download", args=[document.pk]))
    return answers


def claim_user(claim):
    return claim.operator.memberships.first().user


@pytest.fixture
def draft(scanning_on, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        claim, user = ready_advance()
    assert {d.scan_status for d in claim.documents.all()} == {ScanStatus.CLEAN}
    return claim, user


def test_a_clean_proof_is_scanned_after_upload_then_counts_and_the_claim_is_submitted(
    draft, client, django_capture_on_commit_callbacks
):
    claim, user = draft
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        document = upload(client, claim, clean_pdf())
    document.refresh_from_db()
    assert (document.scan_status, document.scan_signature) == (ScanStatus.CLEAN, "")
    assert document.scanned_at is not None
    assert not document.file.name.startswith("quarantine/")
    answer = api_for(user).get(f"/api/v1/claims/{claim.pk}/documents").json()["results"]
    assert {d["scan_status"] for d in answer} == {"clean"}

    response = api_for(user).post(f"/api/v1/claims/{claim.pk}/submit")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == ClaimState.SUBMITTED


def test_a_submit_while_a_proof_is_being_scanned_answers_409_and_succeeds_once_it_is_clean(draft, client):
    claim, user = draft
    client.force_login(user)
    document = upload(client, claim, clean_pdf())  # its scan is queued after commit: not run yet
    assert document.scan_status == ScanStatus.PENDING
    api = api_for(user)

    response = api.post(f"/api/v1/claims/{claim.pk}/submit")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "document_scan_pending"
    assert "en cours d'analyse antivirus" in body["detail"] and document.original_name in body["detail"]
    page = client.post(reverse("portal:claim_submit", args=[claim.pk]), follow=True).content.decode()
    assert "Pièce en cours d&#x27;analyse antivirus" in page  # the refusal, above the page
    assert "en cours d&#x27;analyse</strong>" in page  # beside the proof
    claim.refresh_from_db()
    assert claim.state == ClaimState.DRAFT
    assert reverse("portal:document_download", args=[document.pk]) not in page
    for where, answer in downloads(client, api, claim, document, agent()).items():
        assert answer.status_code == 409, where
        assert not getattr(answer, "streaming", False), where
    assert api.get(f"/api/v1/claims/{claim.pk}/documents/{document.pk}/download").json()["code"] == (
        "document_scan_pending"
    )

    scan_stored_file.delay("claims.document", document.pk)
    document.refresh_from_db()
    assert document.scan_status == ScanStatus.CLEAN
    assert api.post(f"/api/v1/claims/{claim.pk}/submit").status_code == 200


def test_an_infected_proof_is_quarantined_never_served_and_the_operator_and_agents_are_told(
    draft, client, mailoutbox, django_capture_on_commit_callbacks
):
    claim, user = draft
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        document = upload(client, claim, infected_pdf("facture.pdf"))
    document.refresh_from_db()
    assert (document.scan_status, document.scan_signature) == (ScanStatus.INFECTED, FOUND)
    # Moved under quarantine/ in the storage: kept for the agents, the uploaded path is gone.
    media = Path(django_settings.MEDIA_ROOT)
    assert document.file.name.startswith("quarantine/proofs/")
    assert (media / document.file.name).is_file()
    assert not (media / document.file.name.removeprefix("quarantine/")).exists()

    api, instructor = api_for(user), agent()
    for where, answer in downloads(client, api, claim, document, instructor).items():
        assert answer.status_code == 409, where
        assert not getattr(answer, "streaming", False), where
    refused = api.get(f"/api/v1/claims/{claim.pk}/documents/{document.pk}/download").json()
    assert refused["code"] == "document_infected" and FOUND in refused["detail"]

    # The agent sees the signature in the admin, with no link to the file.
    admin_page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert FOUND in admin_page and "infectée — en quarantaine" in admin_page
    assert reverse("admin:claims_document_download", args=[document.pk]) not in admin_page
    # The operator is told on the portal and by e-mail; the agents get an alert.
    client.force_login(user)
    page = client.get(reverse("portal:claim", args=[claim.pk])).content.decode()
    assert "Pièce infectée mise en quarantaine" in page and FOUND in page
    assert reverse("portal:document_download", args=[document.pk]) not in page
    assert claim.events.filter(action="document_infected").count() == 1
    to_operator = [m for m in mailoutbox if user.email in m.to]
    assert len(to_operator) == 1 and FOUND in to_operator[0].body
    assert "Mise en quarantaine d'une pièce infectée" in to_operator[0].body
    alerts = [m for m in mailoutbox if django_settings.AGENTS_NOTIFICATION_EMAIL in m.to]
    assert len(alerts) == 1
    assert FOUND in alerts[0].body and f"n° {claim.pk}" in alerts[0].subject and document.sha256 in alerts[0].body

    # The claim cannot be filed on it; a new, clean version unblocks it.
    response = api.post(f"/api/v1/claims/{claim.pk}/submit")
    assert response.status_code == 409
    assert response.json()["code"] == "guard_failed" and "infectée" in response.json()["detail"]
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, claim, clean_pdf())
    assert api.post(f"/api/v1/claims/{claim.pk}/submit").status_code == 200
    # Scanning the quarantined file again changes nothing (the task is safe to run twice).
    assert scanning.scan_file(model_label="claims.document", pk=document.pk) == ScanStatus.INFECTED
    assert len([m for m in mailoutbox if django_settings.AGENTS_NOTIFICATION_EMAIL in m.to]) == 1


@pytest.fixture
def clamd_down():
    """A TCP port where "clamd" accepts and hangs up at once: every scan fails. Counts the attempts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    attempts = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            attempts.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", attempts
    server.close()
    thread.join(timeout=5)


def test_a_clamd_down_at_scan_time_leaves_the_proof_pending_retried_and_unserved(
    draft, scanning_on, client, settings, clamd_down, django_capture_on_commit_callbacks
):
    claim, user = draft
    address, attempts = clamd_down
    settings.CLAMD_ADDRESS = address
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        document = upload(client, claim, infected_pdf())
    document.refresh_from_db()
    assert document.scan_status == ScanStatus.PENDING
    assert "Analyse en attente" in document.scan_detail and address in document.scan_detail
    assert len(attempts) == 1  # eager Celery with propagation stops at the first Retry
    # As a worker runs it: the task retries until its limit, then leaves the proof to the sweep.
    celery_app.conf.task_eager_propagates = False  # (tests/conftest.py sets it back for every test)
    result = scan_stored_file.apply(args=["claims.document", document.pk])
    assert result.successful() and result.result is None
    assert len(attempts) == 1 + 1 + SCAN_MAX_RETRIES  # the upload's try, then a first try and every retry
    document.refresh_from_db()
    assert document.scan_status == ScanStatus.PENDING
    api = api_for(user)
    for where, answer in downloads(client, api, claim, document, agent()).items():
        assert answer.status_code == 409, where
    assert api.post(f"/api/v1/claims/{claim.pk}/submit").json()["code"] == "document_scan_pending"

    # clamd is back: the periodic sweep scans what is still pending.
    settings.CLAMD_ADDRESS = scanning_on.tcp_address
    with django_capture_on_commit_callbacks(execute=True):
        assert scanning.rescan_pending(older_than=timedelta(0)) == 1
    document.refresh_from_db()
    assert (document.scan_status, document.scan_signature) == (ScanStatus.INFECTED, FOUND)
