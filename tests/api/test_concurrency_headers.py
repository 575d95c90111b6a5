"""Optimistic concurrency (common.concurrency): ETag on claims, enrolments and webhooks; If-Match → 412."""

import pytest

from claims import services as claim_services
from common.concurrency import make_etag, matches
from operators import services
from operators.models import Webhook
from tests.factories import enrolment_form, pdf, segur_campaign

pytestmark = pytest.mark.django_db

BOGUS = '"bogus"'


def test_a_claim_carries_an_etag_that_changes_with_each_write(owner):
    claim, client = owner
    first = client.get(f"/api/v1/claims/{claim.pk}")
    assert first["ETag"].startswith('"') and first["ETag"] == client.get(f"/api/v1/claims/{claim.pk}")["ETag"]
    patched = client.patch(f"/api/v1/claims/{claim.pk}", {"technical_doc_url": "https://d.example.fr"}, format="json")
    assert patched.status_code == 200
    assert patched["ETag"] != first["ETag"]
    assert patched["ETag"] == client.get(f"/api/v1/claims/{claim.pk}")["ETag"]


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(owner):
    claim, client = owner
    for if_match in (BOGUS, "W/" + client.get(f"/api/v1/claims/{claim.pk}")["ETag"]):  # weak tags never match
        response = client.patch(
            f"/api/v1/claims/{claim.pk}", {"technical_doc_url": "https://x.example.fr"}, format="json",
            HTTP_IF_MATCH=if_match,
        )  # fmt: skip
        assert response.status_code == 412
        assert response.json() == {"detail": response.json()["detail"], "code": "precondition_failed", "errors": {}}
    claim.refresh_from_db()
    assert claim.technical_doc_url != "https://x.example.fr"


def test_patch_and_transitions_with_the_current_etag_or_a_star_succeed(owner):
    claim, client = owner
    etag = client.get(f"/api/v1/claims/{claim.pk}")["ETag"]
    patched = client.patch(
        f"/api/v1/claims/{claim.pk}", {"technical_doc_url": "https://d.example.fr"}, format="json",
        HTTP_IF_MATCH=f'{BOGUS}, {etag}',
    )  # fmt: skip
    assert patched.status_code == 200
    stale = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412  # the PATCH made a new version
    submitted = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IF_MATCH=patched["ETag"])
    assert submitted.status_code == 200
    assert submitted.json()["state"] == "submitted"
    assert submitted["ETag"] not in (etag, patched["ETag"])
    withdrawn = client.post(
        f"/api/v1/claims/{claim.pk}/withdraw", {"comment": "Erreur"}, format="json", HTTP_IF_MATCH="*"
    )
    assert withdrawn.status_code == 200


def test_a_change_made_elsewhere_makes_the_etag_stale(owner):
    """Another member (the portal, another script) uploads a proof: our If-Match no longer holds."""
    claim, client = owner
    etag = client.get(f"/api/v1/claims/{claim.pk}")["ETag"]

    claim_services.document_upload(
        claim=claim, actor=claim.documents.first().uploaded_by, kind="other", uploaded_file=pdf()
    )
    assert client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IF_MATCH=etag).status_code == 412
    claim.refresh_from_db()
    assert claim.state == "draft"


def test_the_if_match_check_comes_after_scoping(owner, stranger):
    claim, _ = owner
    assert stranger.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IF_MATCH=BOGUS).status_code == 404


def test_a_created_claim_has_location_and_etag(owner):
    _claim, client = owner
    segur_campaign("other-campaign")
    response = client.post("/api/v1/claims", {"campaign": "other-campaign", "kind": "advance"}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"/api/v1/claims/{response.json()['id']}"
    assert response["ETag"] == client.get(response["Location"])["ETag"]


def test_webhooks_carry_an_etag_and_honour_if_match_on_patch_rotate_and_delete(owner):
    _claim, client = owner
    created = client.post("/api/v1/webhooks", {"url": "https://hooks.example.fr/a"}, format="json")
    url = created["Location"]
    etag = client.get(url)["ETag"]
    assert etag == created["ETag"]
    assert client.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH=BOGUS).status_code == 412
    assert Webhook.objects.get().is_active
    patched = client.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH=etag)
    assert patched.status_code == 200
    assert patched["ETag"] != etag
    assert client.post(f"{url}/rotate-secret", HTTP_IF_MATCH=etag).status_code == 412
    rotated = client.post(f"{url}/rotate-secret", HTTP_IF_MATCH=patched["ETag"])
    assert rotated.status_code == 200
    assert rotated["ETag"] != patched["ETag"]
    assert client.delete(url, HTTP_IF_MATCH=patched["ETag"]).status_code == 412
    assert client.delete(url, HTTP_IF_MATCH=rotated["ETag"]).status_code == 204


def test_enrolments_carry_an_etag_and_resubmit_honours_if_match(world):
    rep = world["clients"]["rep"]
    pending = world["ids"]["pending"]
    read = rep.get(f"/api/v1/enrolments/{pending}")
    assert read.status_code == 200
    etag = read["ETag"]
    stale = rep.post(f"/api/v1/enrolments/{pending}/resubmit", {"comment": "RIB"}, format="multipart",
                     HTTP_IF_MATCH=BOGUS)  # fmt: skip
    assert stale.status_code == 412
    done = rep.post(f"/api/v1/enrolments/{pending}/resubmit", {"comment": "RIB"}, format="multipart",
                    HTTP_IF_MATCH=etag)  # fmt: skip
    assert done.status_code == 200, done.json()
    assert done["ETag"] != etag


def test_a_new_enrolment_has_location_and_etag(world):
    fresh = world["clients"]["fresh"]
    response = fresh.post("/api/v1/enrolments", enrolment_form(), format="multipart")
    assert response.status_code == 201
    assert response["Location"] == f"/api/v1/enrolments/{response.json()['id']}"
    assert response["ETag"] == fresh.get(response["Location"])["ETag"]


def test_if_match_comparison_follows_rfc_9110():
    tag = make_etag("claim", 1, "head", "2026-01-01")
    assert matches("*", tag)
    assert matches(f'"x", {tag}', tag)
    assert not matches(f"W/{tag}", tag)
    assert not matches(tag.strip('"'), tag)


def test_an_operator_token_client_sees_no_etag_of_another_operators_webhook(owner, stranger):
    claim, _ = owner
    hook, _ = services.webhook_create(
        operator=claim.operator, url="https://hooks.example.fr/b", actor=claim.documents.first().uploaded_by
    )
    response = stranger.get(f"/api/v1/webhooks/{hook.pk}")
    assert response.status_code == 404
    assert not response.has_header("ETag")
