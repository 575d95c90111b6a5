"""Claims API (docs/spec/SPEC.md §6): scoped lists, detail with abilities and checklist, transitions, proofs, events."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import selectors, services, workflow
from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Claim
from operators.enums import OperatorKind
from tests.factories import (
    PDF,
    PNG,
    OperatorFactory,
    approved,
    claim_in_state,
    operator_user,
    ready_advance,
    segur_campaign,
    token_client,
)

pytestmark = pytest.mark.django_db


def url(claim, suffix=""):
    return f"/api/v1/claims/{claim.pk}{suffix}"


def test_list_is_paginated_and_shows_only_the_users_operator(owner, stranger):
    claim, client = owner
    claim_in_state("submitted")  # a third operator's claim
    body = client.get("/api/v1/claims/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [c["id"] for c in body["results"]] == [claim.pk]
    assert body["results"][0] | {"campaign": "test-campaign", "kind": "advance", "state": "draft"} == body["results"][0]
    assert stranger.get("/api/v1/claims").json()["count"] == 0


def test_list_filters_on_state_kind_and_campaign(owner):
    _claim, client = owner
    assert client.get("/api/v1/claims/?state=draft").json()["count"] == 1
    assert client.get("/api/v1/claims/?state=submitted").json()["count"] == 0
    assert client.get("/api/v1/claims/?kind=balance").json()["count"] == 0
    assert client.get("/api/v1/claims/?campaign=test-campaign").json()["count"] == 1
    assert client.get("/api/v1/claims/?campaign=other").json()["count"] == 0
    response = client.get("/api/v1/claims/?state=nonsense")
    assert response.status_code == 400
    assert "state" in response.json()["errors"]


def test_list_query_count_does_not_grow_with_claims(owner, django_assert_max_num_queries):
    claim, client = owner
    other = segur_campaign("second")
    services.claim_create(
        operator=claim.operator, campaign=other, kind=ClaimKind.ADVANCE, actor=claim.documents.first().uploaded_by
    )
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/claims/").json()["count"] == 2


def test_detail_has_amount_breakdown_abilities_checklist_and_deadline(owner):
    claim, client = owner
    body = client.get(url(claim, "/")).json()
    for key in ("id", "campaign", "kind", "state", "amount", "breakdown", "abilities", "required_proofs", "deadline"):
        assert key in body
    assert body["abilities"]["submit"] is True and body["abilities"]["resubmit"] is False
    assert body["required_proofs"] == [
        {
            "kind": "conformity_report",
            "label": "Rapport de conformité",
            "provided": True,
            "document": claim.documents.get().pk,
            "version": 1,
        }
    ]
    assert body["deadline"].endswith("T23:59:59.999999+01:00") or body["deadline"].endswith("T23:59:59.999999+02:00")


@pytest.mark.parametrize(("kind", "buyer"), [("advance", False), ("advance", True), ("balance", False)])
def test_required_proofs_checklist_matches_the_workflow_guards(kind, buyer):
    """The API checklist (claims.selectors) and the submission guards (claims.workflow) stay in step."""
    operator = OperatorFactory(eligible=True)
    if buyer:
        operator.kind, operator.provider = OperatorKind.BUYER, OperatorFactory(eligible=True)
        operator.save()
    campaign = segur_campaign()
    user = operator_user(operator)
    if kind == "balance":
        advance, _ = ready_advance(operator=operator, campaign=campaign, user=user)
        approved(services.claim_submit(claim=advance, actor=user))
    claim = services.claim_create(operator=operator, campaign=campaign, kind=kind, actor=user)
    guard = workflow.required_proofs_present
    required = selectors.required_proof_kinds(claim=claim)
    expected = {
        ("advance", False): [DocumentKind.CONFORMITY_REPORT],
        ("advance", True): [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE],
        ("balance", False): [DocumentKind.CONFORMITY_COMMITMENT],
    }[(kind, buyer)]
    assert required == expected
    assert len(guard(claim, actor=user, at=None)) == len(required)
    for document_kind in required:
        services.document_upload(
            claim=claim, actor=user, kind=document_kind, uploaded_file=SimpleUploadedFile("p.pdf", PDF)
        )
    assert guard(claim, actor=user, at=None) == []


def test_a_balance_is_refused_until_the_advance_is_approved_then_declared_through_patch(owner):
    claim, client = owner
    response = client.post("/api/v1/claims", {"campaign": "test-campaign", "kind": "balance"}, format="json")
    assert response.status_code == 409
    assert "une fois l'avance approuvée" in response.json()["detail"]
    client.post(url(claim, "/submit"))
    approved(Claim.objects.get(pk=claim.pk))
    response = client.post("/api/v1/claims", {"campaign": "test-campaign", "kind": "balance"}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["kind"], created["state"]) == ("balance", "draft")
    declared = {
        "technical_doc_url": "https://docs.example.fr",
        "deployment_date": "2023-06-15",
        "technical_contact_name": "Camille Martin",
        "technical_contact_email": "support@example.fr",
    }
    response = client.patch(f"/api/v1/claims/{created['id']}/", declared, format="json")
    assert response.status_code == 200
    assert {name: response.json()[name] for name in declared} == declared
    events = client.get(f"/api/v1/claims/{created['id']}/events").json()["results"]
    assert (
        events[-1]["action"] == "update" and "Date de déploiement du connecteur : 15/06/2023" in events[-1]["comment"]
    )
    # Only the fields sent change.
    response = client.patch(f"/api/v1/claims/{created['id']}/", {"technical_contact_name": "Dominique"}, format="json")
    assert (response.json()["technical_contact_name"], response.json()["deployment_date"]) == (
        "Dominique",
        "2023-06-15",
    )


def test_create_refuses_an_unknown_campaign_and_a_second_live_claim(owner):
    _claim, client = owner
    response = client.post("/api/v1/claims/", {"campaign": "nope", "kind": "advance"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["campaign"] == ["Campagne inconnue : « nope »."]
    response = client.post("/api/v1/claims/", {"campaign": "test-campaign", "kind": "advance"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_submit_then_withdraw_and_a_second_submit_is_a_conflict(owner):
    claim, client = owner
    response = client.post(url(claim, "/submit"))
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "submitted"
    assert response.json()["amount"] is not None
    response = client.post(url(claim, "/submit/"))
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    response = client.post(url(claim, "/withdraw"), {"comment": "Erreur de dépôt."}, format="json")
    assert response.json()["state"] == "withdrawn"


def test_submit_with_missing_proofs_lists_the_guards(owner):
    claim, _client = owner
    operator = OperatorFactory(eligible=True)
    user = operator_user(operator)
    draft = services.claim_create(operator=operator, campaign=claim.campaign, kind=ClaimKind.ADVANCE, actor=user)
    response = token_client(user).post(url(draft, "/submit"))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "guard_failed"
    assert "Pièce manquante : Rapport de conformité." in body["errors"]["guards"]


def test_resubmit_after_changes_requested():
    claim, user = claim_in_state("changes_requested")
    client = token_client(user)
    assert client.get(url(claim)).json()["abilities"]["resubmit"] is True
    response = client.post(url(claim, "/resubmit"), {"comment": "Facture jointe."}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == ClaimState.SUBMITTED


def test_upload_list_and_download_a_proof(owner):
    claim, client = owner
    response = client.post(
        url(claim, "/documents"), {"kind": "other", "file": SimpleUploadedFile("Scan 1.pdf", PNG)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    document = response.json()
    assert (document["content_type"], document["original_name"]) == ("image/png", "Scan_1.png")
    listing = client.get(url(claim, "/documents/")).json()
    assert listing["count"] == 2
    download = client.get(document["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == 'attachment; filename="Scan_1.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    # Whatever the client accepts, the file comes back (no 406).
    again = client.get(document["download_url"], HTTP_ACCEPT="application/pdf")
    assert again.status_code == 200
    assert b"".join(again.streaming_content) == PNG  # consuming a streamed response closes its file


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"MZ\x90\x00" + b"\x00" * 100, 415, "unsupported_media_type"),
        (b"", 400, "empty_file"),
        (PDF + b"0" * 4096, 413, "file_too_large"),
    ],
)
def test_refused_uploads_map_to_http_statuses(owner, settings, content, status, code):
    settings.DOCUMENT_MAX_BYTES = 2048
    claim, client = owner
    response = client.post(
        url(claim, "/documents"), {"kind": "other", "file": SimpleUploadedFile("x.pdf", content)}, format="multipart"
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert claim.documents.count() == 1


def test_upload_without_file_or_with_unknown_kind_is_400(owner):
    claim, client = owner
    assert client.post(url(claim, "/documents"), {"kind": "other"}, format="multipart").status_code == 400
    response = client.post(
        url(claim, "/documents"), {"kind": "selfie", "file": SimpleUploadedFile("x.pdf", PDF)}, format="multipart"
    )
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def test_upload_on_a_submitted_claim_is_a_conflict():
    claim, user = claim_in_state("submitted")
    response = token_client(user).post(
        url(claim, "/documents"), {"kind": "other", "file": SimpleUploadedFile("x.pdf", PDF)}, format="multipart"
    )
    assert response.status_code == 409


def test_events_are_the_claims_history_in_order(owner):
    claim, client = owner
    client.post(url(claim, "/submit"))
    body = client.get(url(claim, "/events/")).json()
    assert [e["action"] for e in body["results"]] == ["create", "document", "submit", "receipt"]
    assert body["results"][-2]["from_state"] == "draft" and body["results"][-2]["to_state"] == "submitted"


def test_document_of_another_claim_is_404_even_for_the_same_operator(owner):
    claim, client = owner
    other_claim = services.claim_create(
        operator=claim.operator, campaign=segur_campaign("other"), kind=ClaimKind.ADVANCE,
        actor=claim.documents.get().uploaded_by,
    )  # fmt: skip
    document = claim.documents.get()
    assert client.get(f"/api/v1/claims/{other_claim.pk}/documents/{document.pk}/download").status_code == 404


def test_operator_profile(owner):
    claim, client = owner
    body = client.get("/api/v1/operator").json()
    assert body["siren"] == claim.operator.siren
    assert body["referencing_number"] is not None
    assert body["contract_v2_countersigned"] is True
    assert [m["username"] for m in body["members"]] == [claim.documents.get().uploaded_by.username]


def test_ready_advance_helper_is_submittable():
    claim, user = ready_advance()
    assert services.claim_abilities(user=user, claim=claim)["submit"]


def test_buyer_checklist_names_provider_report_and_invoice():
    provider = OperatorFactory(eligible=True)
    buyer = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider)
    claim, user = ready_advance(operator=buyer)
    kinds = [p["kind"] for p in token_client(user).get(url(claim)).json()["required_proofs"]]
    assert kinds == [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
