"""Access-control matrix over every API endpoint (issue 5): anonymous → 401 (except the public ones),
another operator's user → 404 on our objects (never 403/200), agents' tokens → 403 on operator
endpoints, the owner → 2xx. A new endpoint missing from the table fails `test_matrix_covers_every_endpoint`."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from claims import recoveries
from operators import services, webhooks
from tests.api.conftest import token_client
from tests.factories import PDF, ContractFactory, agent, claim_in_state, ready_advance, segur_campaign
from tests.operators.test_enrolment import GOOD, proofs

pytestmark = pytest.mark.django_db

PASSWORD = "Un-mot-de-passe-s0lide"


def enrolled(username, siren, referencing_number):
    """A validated representative (the operator's manager) and its operator, eligible for claims."""
    user = services.account_create(username=username, email=f"{username}@example.fr", password=PASSWORD)
    enrolment = services.enrolment_submit(
        user=user, documents=proofs(), **{**GOOD, "siren": siren, "siret": "", "referencing_number": referencing_number}
    )
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    ContractFactory(operator=enrolment.operator)
    user.refresh_from_db()
    return user, enrolment


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(webhooks, "post", lambda *a, **k: 200)
    campaign = segur_campaign()
    segur_campaign("second-campaign")  # where a new advance may be opened
    manager_a, enrolment_a = enrolled("manager-a", "732829320", "REF-A")
    manager_b, _ = enrolled("manager-b", "552100554", "REF-B")
    claim, _ = ready_advance(operator=enrolment_a.operator, user=manager_a, campaign=campaign)
    document = claim.documents.get()
    webhook, _ = services.webhook_create(operator=claim.operator, url="https://hooks.example.fr/a", actor=manager_a)
    services.webhook_deliveries_enqueue(
        operator_id=claim.operator_id, event_key="claim-event:test", event_type="claim.state_changed", payload={}
    )
    invitation = services.invitation_create(operator=claim.operator, email="colleague@example.fr", actor=manager_a)
    # A representative whose enrolment waits for corrections (no operator yet).
    rep = services.account_create(username="rep", email="rep@example.fr", password=PASSWORD)
    pending = services.enrolment_submit(
        user=rep, documents=proofs(), **{**GOOD, "siren": "542051180", "siret": "", "referencing_number": "REF-R"}
    )
    pending = services.enrolment_request_changes(enrolment=pending, actor=agent(), message="RIB ?")
    fresh = services.account_create(username="fresh", email="fresh@example.fr", password=PASSWORD)
    # A paid advance of operator A in a third campaign, with an undue-payment case notified on it.
    paid_claim, _ = claim_in_state(
        "paid", operator=enrolment_a.operator, user=manager_a, campaign=segur_campaign("third-campaign")
    )
    recovery = recoveries.recovery_open(claim=paid_claim, amount=10, grounds="Solde non déposé.", actor=agent())
    return {
        "ids": {
            "claim": claim.pk,
            "doc": document.pk,
            "webhook": webhook.pk,
            "invitation": invitation.pk,
            "enrolment": enrolment_a.pk,
            "enrolment_doc": enrolment_a.documents.first().pk,
            "pending": pending.pk,
            "pending_doc": pending.documents.first().pk,
            "paid_claim": paid_claim.pk,
            "recovery": recovery.pk,
        },
        "clients": {
            "manager": token_client(manager_a),
            "other": token_client(manager_b),
            "rep": token_client(rep),
            "fresh": token_client(fresh),
            "agent": token_client(agent()),
            "anonymous": APIClient(),
        },
        "manager_b": manager_b,
        "claim": claim,
    }


def pdf():
    return SimpleUploadedFile("preuve.pdf", PDF, "application/pdf")


def bank_details_form():
    return {"iban": "FR7630006000010012345678256", "bic": "BNPAFRPP", "proof": pdf()}


def enrolment_form():
    data = {**GOOD, "siren": "443061841", "siret": "", "referencing_number": "REF-NEW"}
    return {**data, **proofs()}


# (method, path, owner, owner status, data, format, B on A's objects: 404 or "scoped", public)
M = [
    ("POST", "/api/v1/auth/token", "anonymous", 200, {"username": "manager-a", "password": PASSWORD}, "json", None,
     True),
    ("DELETE", "/api/v1/auth/token", "manager", 204, None, None, None, False),
    ("GET", "/api/v1/operator", "manager", 200, None, None, "scoped", False),
    ("GET", "/api/v1/operator/invitations", "manager", 200, None, None, "scoped", False),
    ("POST", "/api/v1/operator/bank-details", "manager", 201, lambda: bank_details_form(), "multipart", "scoped",
     False),
    ("POST", "/api/v1/operator/invitations", "manager", 201, {"email": "new@example.fr"}, "json", "scoped", False),
    ("POST", "/api/v1/operator/invitations/{invitation}/revoke", "manager", 200, None, None, 404, False),
    ("POST", "/api/v1/invitations/accept", "anonymous", 400, {"token": "x", "username": "u", "password": "p"}, "json",
     None, True),
    ("GET", "/api/v1/enrolments", "rep", 200, None, None, "scoped", False),
    ("POST", "/api/v1/enrolments", "fresh", 201, enrolment_form, "multipart", "scoped", False),
    ("GET", "/api/v1/enrolments/{enrolment}", "manager", 200, None, None, 404, False),
    ("POST", "/api/v1/enrolments/{pending}/resubmit", "rep", 200, {"comment": "RIB joint"}, "multipart", 404, False),
    ("GET", "/api/v1/enrolments/{enrolment}/documents/{enrolment_doc}/download", "manager", 200, None, None, 404,
     False),
    ("GET", "/api/v1/webhooks", "manager", 200, None, None, "scoped", False),
    ("POST", "/api/v1/webhooks", "manager", 201, {"url": "https://hooks.example.fr/b"}, "json", "scoped", False),
    ("GET", "/api/v1/webhooks/{webhook}", "manager", 200, None, None, 404, False),
    ("PATCH", "/api/v1/webhooks/{webhook}", "manager", 200, {"is_active": False}, "json", 404, False),
    ("DELETE", "/api/v1/webhooks/{webhook}", "manager", 204, None, None, 404, False),
    ("POST", "/api/v1/webhooks/{webhook}/rotate-secret", "manager", 200, None, None, 404, False),
    ("GET", "/api/v1/webhooks/{webhook}/deliveries", "manager", 200, None, None, 404, False),
    ("GET", "/api/v1/claims", "manager", 200, None, None, "scoped", False),
    ("POST", "/api/v1/claims", "manager", 201, {"campaign": "second-campaign", "kind": "advance"}, "json", "scoped",
     False),
    ("GET", "/api/v1/claims/{claim}", "manager", 200, None, None, 404, False),
    ("PATCH", "/api/v1/claims/{claim}", "manager", 200, {"technical_doc_url": "https://d.example.fr"}, "json", 404,
     False),
    ("POST", "/api/v1/claims/{claim}/submit", "manager", 200, None, None, 404, False),
    ("POST", "/api/v1/claims/{claim}/withdraw", "manager", 200, {"comment": "Erreur"}, "json", 404, False),
    ("POST", "/api/v1/claims/{claim}/resubmit", "manager", 409, None, None, 404, False),
    ("GET", "/api/v1/claims/{claim}/documents", "manager", 200, None, None, 404, False),
    ("POST", "/api/v1/claims/{claim}/documents", "manager", 201, lambda: {"kind": "other", "file": pdf()},
     "multipart", 404, False),
    ("GET", "/api/v1/claims/{claim}/documents/{doc}/download", "manager", 200, None, None, 404, False),
    ("GET", "/api/v1/claims/{claim}/events", "manager", 200, None, None, 404, False),
    ("GET", "/api/v1/claims/{paid_claim}/recoveries", "manager", 200, None, None, 404, False),
    ("GET", "/api/v1/events", "manager", 200, None, None, "scoped", False),
    ("POST", "/api/v1/claims/{paid_claim}/recoveries/{recovery}/observations", "manager", 201,
     lambda: {"text": "Le parc était conforme.", "attachments": [pdf()]}, "multipart", 404, False),
    ("GET", "/api/v1/schedules", "anonymous", 200, None, None, None, True),
    ("GET", "/api/v1/campaigns", "anonymous", 200, None, None, None, True),
    ("GET", "/api/v1/campaigns/segur-mss-2023", "anonymous", 200, None, None, None, True),
    ("POST", "/api/v1/funding/simulate", "anonymous", 200,
     {"schedule": "segur-2023", "counts": {"APP": 1, "ORG": 2, "PER": 3}}, "json", None, True),
]  # fmt: skip
IDS = [f"{m[0]} {m[1]}" for m in M]


def call(client, method, path, data=None, fmt=None):
    data = data() if callable(data) else data
    response = (
        getattr(client, method.lower())(path, data, format=fmt)
        if data is not None
        else getattr(client, method.lower())(path)
    )
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # consuming it closes the file (the test client's way)
    return response


def resolve(world, path):
    return path.format(**world["ids"])


def test_matrix_covers_every_endpoint():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    covered = set()
    for method, path, *_ in M:
        generic = path
        for name in ("claim", "paid_claim", "webhook", "invitation", "enrolment", "pending"):
            generic = generic.replace("{" + name + "}", "{id}")
        generic = generic.replace("{recovery}", "{recovery_id}")
        for name in ("doc", "enrolment_doc"):
            generic = generic.replace("{" + name + "}", "{doc_id}")
        generic = generic.replace("/campaigns/segur-mss-2023", "/campaigns/{code}")
        covered.add((method, generic))
    assert documented - covered == set(), "endpoints missing from the access matrix"


@pytest.mark.parametrize(("method", "path", "owner", "status", "data", "fmt", "foreign", "public"), M, ids=IDS)
def test_endpoint_access(world, method, path, owner, status, data, fmt, foreign, public):
    """Anonymous, an agent and operator B first (none of them may change anything), then the owner."""
    path = resolve(world, path)
    clients = world["clients"]

    response = call(clients["anonymous"], method, path, data, fmt)
    if public:
        assert response.status_code != 401
    else:
        assert response.status_code == 401, "anonymous must be told to authenticate"
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Token"

    if not public and not path.startswith("/api/v1/auth/token"):
        response = call(clients["agent"], method, path, data, fmt)
        assert response.status_code == 403, "an agent's token must not act as an operator"
        assert response.json()["code"] == "permission_denied"

    if foreign == 404:
        response = call(clients["other"], method, path, data, fmt)
        assert response.status_code == 404, "another operator's object must be a 404"
        assert response.json() == {"detail": response.json()["detail"], "code": "not_found", "errors": {}}
    elif foreign == "scoped":
        # Lists and creations are scoped to the caller's own operator: nothing of operator A shows.
        response = call(clients["other"], method, path, data, fmt)
        assert response.status_code < 500
        if method == "GET" and "results" in response.json():
            assert all(item.get("id") != world["ids"]["enrolment"] for item in response.json()["results"])
            if path not in ("/api/v1/enrolments", "/api/v1/events"):
                assert response.json()["count"] == 0
        if path == "/api/v1/events":
            # Operator B reads its own events (its enrolment's), never one of operator A's claims.
            assert all("claim" not in item["data"] for item in response.json()["results"])
        if path == "/api/v1/operator":
            assert response.json()["siren"] == "552100554"
        assert "732829320" not in json.dumps(response.json())  # operator A's SIREN never appears

    response = call(clients[owner], method, path, data, fmt)
    assert response.status_code == status, getattr(response, "data", response)


def test_another_operators_write_leaves_our_objects_untouched(world):
    other = world["clients"]["other"]
    claim = world["claim"]
    other.post(f"/api/v1/claims/{claim.pk}/withdraw")
    other.delete(f"/api/v1/webhooks/{world['ids']['webhook']}")
    claim.refresh_from_db()
    assert claim.state == "draft"
    assert world["clients"]["manager"].get(f"/api/v1/webhooks/{world['ids']['webhook']}").status_code == 200


def test_a_staff_user_with_a_membership_still_cannot_act_as_operator(world):
    manager_b = world["manager_b"]
    manager_b.is_staff = True
    manager_b.save()
    assert world["clients"]["other"].get("/api/v1/claims").status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/claims", "/api/v1/claims/", "/api/v1/operator", "/api/v1/operator/"])
def test_paths_answer_with_and_without_slash_without_redirect(world, path):
    assert world["clients"]["manager"].get(path).status_code == 200


def test_post_answers_with_and_without_slash(world):
    client = world["clients"]["manager"]
    claim = world["claim"]
    assert client.post(f"/api/v1/claims/{claim.pk}/submit/").status_code == 200
    assert client.post(f"/api/v1/claims/{claim.pk}/submit").status_code == 409
