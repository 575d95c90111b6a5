"""Enrolment through the API: multipart creation, reading one's own, resubmitting after a change request."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from operators import services
from operators.enums import EnrolmentState
from operators.models import Enrolment, EnrolmentDocument
from tests.factories import GOOD, PDF, PNG, PROOF_KINDS, agent, token_client

pytestmark = pytest.mark.django_db


def form(**overrides):
    data = {**GOOD, "vat_liable": "true"}
    for kind in PROOF_KINDS:
        data[kind] = SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf")
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_representative_files_reads_and_resubmits_an_enrolment(representative):
    client = token_client(representative)
    response = client.post("/api/v1/enrolments", form(), format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["siren"], body["abilities"]["resubmit"]) == ("pending", "732829320", False)
    assert sorted(d["kind"] for d in body["documents"]) == sorted(PROOF_KINDS)
    assert [e["action"] for e in body["events"]] == ["submit"]

    enrolment = Enrolment.objects.get(pk=body["id"])
    services.enrolment_request_changes(enrolment=enrolment, actor=agent(), message="BIC erroné.")
    body = client.get(f"/api/v1/enrolments/{enrolment.pk}/").json()
    assert (body["state"], body["agent_message"], body["abilities"]["resubmit"]) == (
        "changes_requested",
        "BIC erroné.",
        True,
    )
    response = client.post(
        f"/api/v1/enrolments/{enrolment.pk}/resubmit",
        {"bic": "BNPAFRPP", "bank_details": SimpleUploadedFile("rib.png", PNG), "comment": "Corrigé."},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["bic"]) == ("pending", "BNPAFRPP")
    document = next(d for d in response.json()["documents"] if d["kind"] == "bank_details" and d["version"] == 2)
    download = client.get(document["download_url"])
    assert b"".join(download.streaming_content) == PNG
    assert client.get("/api/v1/enrolments/").json()["count"] == 1


@pytest.mark.parametrize(("field", "value"), [("siren", "123456789"), ("iban", "FR00 0000"), ("bic", "??")])
def test_bad_siren_iban_or_bic_is_a_400_with_field_errors_and_nothing_created(representative, field, value):
    response = token_client(representative).post("/api/v1/enrolments", form(**{field: value}), format="multipart")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Enrolment.objects.exists() and not EnrolmentDocument.objects.exists()


def test_missing_proof_is_a_400_and_refused_type_a_415(representative):
    client = token_client(representative)
    response = client.post("/api/v1/enrolments", form(vat_certificate=None), format="multipart")
    assert response.status_code == 400
    assert "vat_certificate" in response.json()["errors"]
    bad = SimpleUploadedFile("id.pdf", b"GIF89a" + b"\x00" * 20)
    response = client.post("/api/v1/enrolments", form(representative_id=bad), format="multipart")
    assert response.status_code == 415
    assert response.json()["errors"] == {
        "representative_id": ["Type de fichier refusé : seuls les PDF, PNG et JPEG sont acceptés."]
    }
    assert not Enrolment.objects.exists()


def test_second_open_enrolment_is_a_conflict(representative):
    client = token_client(representative)
    assert client.post("/api/v1/enrolments", form(), format="multipart").status_code == 201
    assert client.post("/api/v1/enrolments", form(), format="multipart").status_code == 409


def test_someone_elses_enrolment_is_404_and_agents_are_403(representative):
    enrolment = services.enrolment_submit(user=representative, documents=form_documents(), **GOOD)
    other = services.account_create(username="other", email="other@example.fr", password="Un-mot-de-passe-s0lide")
    client = token_client(other)
    assert client.get(f"/api/v1/enrolments/{enrolment.pk}").status_code == 404
    assert client.post(f"/api/v1/enrolments/{enrolment.pk}/resubmit", {}, format="multipart").status_code == 404
    document = enrolment.documents.first()
    assert client.get(f"/api/v1/enrolments/{enrolment.pk}/documents/{document.pk}/download").status_code == 404
    assert token_client(agent()).get("/api/v1/enrolments").status_code == 403


def test_resubmit_before_a_change_request_is_a_conflict(representative):
    enrolment = services.enrolment_submit(user=representative, documents=form_documents(), **GOOD)
    response = token_client(representative).post(f"/api/v1/enrolments/{enrolment.pk}/resubmit", {}, format="multipart")
    assert response.status_code == 409
    enrolment.refresh_from_db()
    assert enrolment.state == EnrolmentState.PENDING


def form_documents():
    return {kind: SimpleUploadedFile(f"{kind}.pdf", PDF) for kind in PROOF_KINDS}
