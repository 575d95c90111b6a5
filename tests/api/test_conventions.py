"""What the schema promises, as the server does it: Bearer tokens, one content type per operation,
strict strings and booleans, strict pages and ordering (400, never silently ignored), flat errors."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from claims import services
from claims.enums import ClaimKind
from claims.models import Claim, DeadlineExtension
from operators import services as operator_services
from tests.factories import agent, api_key_for, pdf, ready_advance, segur_campaign

pytestmark = pytest.mark.django_db


def url(claim, suffix=""):
    return f"/api/v1/claims/{claim.pk}{suffix}"


# --- Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["Bearer", "bearer", "Token"])
def test_a_token_is_accepted_after_bearer_or_token(keyword):
    claim, user = ready_advance()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {api_key_for(user)}")
    assert client.get("/api/v1/claims").json()["results"][0]["id"] == claim.pk


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer", "Bearer a b"])
def test_a_bad_bearer_token_is_a_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/claims")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


# --- Content types ---------------------------------------------------------------------------


def test_a_json_endpoint_refuses_a_form(owner):
    claim, client = owner
    response = client.post(url(claim, "/withdraw"), {"comment": "x"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    response = client.post(
        "/api/v1/webhooks", "url=https://hooks.example.fr/", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_an_upload_refuses_json(owner):
    claim, client = owner
    response = client.post(url(claim, "/documents"), {"kind": "conformity_report"}, format="json")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_upload_takes_multipart(owner):
    claim, client = owner
    response = client.post(url(claim, "/documents"), {"kind": "conformity_report", "file": pdf()}, format="multipart")
    assert response.status_code == 201


# --- Strict inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"comment": 1}', '{"comment": 1e999}', '{"comment": true}', '{"comment": ["a"]}'])
def test_a_comment_that_is_not_a_string_is_a_400(owner, raw):
    claim, client = owner
    claim = services.claim_submit(claim=claim, actor=claim.documents.first().uploaded_by)
    response = client.post(url(claim, "/withdraw"), raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "parse_error"}
    claim.refresh_from_db()
    assert claim.state == "submitted"  # nothing stored, not "1" nor "inf"


def test_a_number_where_a_string_is_expected_names_the_field(owner):
    claim, client = owner
    response = client.patch(url(claim), {"technical_contact_name": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"technical_contact_name": ["Une chaîne de caractères est attendue."]}


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_a_webhook_is_reactivated_by_a_json_boolean_only(owner, value):
    claim, client = owner
    webhook, _ = operator_services.webhook_create(
        operator=claim.operator, url="https://hooks.example.fr/x", actor=claim.documents.first().uploaded_by
    )
    response = client.patch(f"/api/v1/webhooks/{webhook.pk}", {"is_active": value}, format="json")
    assert response.status_code == 400
    assert "is_active" in response.json()["errors"]
    assert client.patch(f"/api/v1/webhooks/{webhook.pk}", {"is_active": True}, format="json").status_code == 200


def test_a_field_the_body_does_not_declare_is_refused(owner):
    claim, client = owner
    response = client.patch(url(claim), {"technical_doc_ur": "https://docs.example.fr/"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"technical_doc_ur": ["Champ inconnu."]}
    response = client.post(url(claim, "/documents"), {"kind": "conformity_report", "file": pdf(), "x": "1"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["x"]


def test_an_empty_patch_changes_nothing_and_answers_the_claim(owner):
    claim, client = owner
    events = claim.events.count()
    response = client.patch(url(claim), {}, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == claim.pk
    assert claim.events.count() == events


def test_nested_errors_are_named_by_their_path():
    response = APIClient().post(
        "/api/v1/funding/simulate",
        {"schedule": "workshop-2022-03", "counts": {"APP": "12", "ORG": -1, "PER": 0, "CAB": 1}},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"counts.CAB"} or set(errors) >= {"counts.APP", "counts.ORG"}
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values())


# --- Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["page=", "page=0", "page=-1", "page=x", "page=1.5", "page=last", "page=1&page=2"])
def test_a_bad_page_is_a_400(owner, query):
    _claim, client = owner
    response = client.get(f"/api/v1/claims?{query}")
    assert response.status_code == 400
    assert "page" in response.json()["errors"]


def test_a_page_beyond_the_last_is_a_404(owner):
    _claim, client = owner
    assert client.get("/api/v1/claims?page=1").status_code == 200
    assert client.get("/api/v1/claims?page=2").status_code == 404


def test_a_query_parameter_given_twice_is_a_400(owner):
    _claim, client = owner
    response = client.get("/api/v1/claims?state=draft&state=submitted")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["state"]


# --- Ordering ----------------------------------------------------------------------------------


@pytest.fixture
def three_claims():
    """Three claims of one operator: amounts 30, 10, 20; effective deadlines in 40, 20 (extended to
    50) and 30 days."""
    first, user = ready_advance(campaign=segur_campaign("c1", advance_in=40))
    operator = first.operator
    second, _ = ready_advance(operator=operator, user=user, campaign=segur_campaign("c2", advance_in=20))
    third, _ = ready_advance(operator=operator, user=user, campaign=segur_campaign("c3", advance_in=30))
    for claim, amount in ((first, 30), (second, 10), (third, 20)):
        Claim.objects.filter(pk=claim.pk).update(amount=Decimal(amount))
    DeadlineExtension.objects.create(
        operator=operator,
        campaign=second.campaign,
        kind=ClaimKind.ADVANCE,
        new_deadline=date.today() + timedelta(days=50),
        reason="Panne",
        granted_by=agent(),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(user)}")
    return (first, second, third), client


def ids(client, query):
    response = client.get(f"/api/v1/claims?{query}")
    assert response.status_code == 200, response.json()
    return [c["id"] for c in response.json()["results"]]


def test_claims_are_ordered_by_amount_or_effective_deadline(three_claims):
    (first, second, third), client = three_claims
    assert ids(client, "") == [third.pk, second.pk, first.pk]  # newest first
    assert ids(client, "ordering=amount") == [second.pk, third.pk, first.pk]
    assert ids(client, "ordering=-amount") == [first.pk, third.pk, second.pk]
    assert ids(client, "ordering=deadline") == [third.pk, first.pk, second.pk]  # the extension counts
    assert ids(client, "ordering=-deadline,amount") == [second.pk, first.pk, third.pk]
    assert ids(client, "ordering=created_at") == [first.pk, second.pk, third.pk]


def test_unsubmitted_claims_sort_last_by_submission_date(three_claims):
    (_first, second, _third), client = three_claims
    services.claim_submit(claim=second, actor=second.documents.first().uploaded_by)
    assert ids(client, "ordering=submitted_at")[0] == second.pk
    assert ids(client, "ordering=-submitted_at")[0] == second.pk


@pytest.mark.parametrize("value", ["nope", "amount,nope", "", "-", "operator", "amount,,deadline"])
def test_an_unknown_ordering_is_a_400(three_claims, value):
    _claims, client = three_claims
    response = client.get(f"/api/v1/claims?ordering={value}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["ordering"]
