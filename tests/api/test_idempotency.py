"""`Idempotency-Key` (common.idempotency): a retried POST answers the first response without acting twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from claims.models import Claim, Document
from common import idempotency
from common.enums import IdempotencyState
from common.models import IdempotencyKey
from common.tasks import purge_idempotency_keys
from operators.models import Webhook
from tests.factories import PDF, pdf, ready_advance, segur_campaign, token_client

pytestmark = pytest.mark.django_db

KEY = "4b7e0f0e-2a47-4c36-8f0e-8d6f0c1d2e3f"


def upload(client, claim, *, key=KEY, content=PDF, kind="other"):
    return client.post(
        f"/api/v1/claims/{claim.pk}/documents",
        {"kind": kind, "file": pdf(content=content)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retried_upload_with_the_same_key_answers_the_first_response_and_stores_one_version(owner):
    claim, client = owner
    first = upload(client, claim)
    again = upload(client, claim)  # the test client draws a new multipart boundary: the same form all the same
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert (
        again["Location"] == first["Location"] == f"/api/v1/claims/{claim.pk}/documents/{first.json()['id']}/download"
    )
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Document.objects.filter(claim=claim, kind="other").count() == 1


def test_without_a_key_each_upload_is_a_new_version(owner):
    claim, client = owner
    for _ in range(2):
        client.post(f"/api/v1/claims/{claim.pk}/documents", {"kind": "other", "file": pdf()}, format="multipart")
    assert Document.objects.filter(claim=claim, kind="other").count() == 2


def test_the_same_key_with_another_body_is_422_and_does_nothing(owner):
    claim, client = owner
    assert upload(client, claim).status_code == 201
    response = upload(client, claim, content=PDF + b"% another file\n")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Document.objects.filter(claim=claim, kind="other").count() == 1


def test_the_same_key_on_another_path_is_422(owner):
    claim, client = owner
    assert client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY).status_code == 200
    response = client.post(f"/api/v1/claims/{claim.pk}/withdraw", HTTP_IDEMPOTENCY_KEY=KEY)
    assert response.status_code == 422


def test_a_retried_transition_replays_its_200_instead_of_a_409(owner):
    claim, client = owner
    first = client.post(f"/api/v1/claims/{claim.pk}/submit/", HTTP_IDEMPOTENCY_KEY=KEY)
    again = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY)  # trailing slash or not
    assert first.status_code == again.status_code == 200
    assert again.json()["state"] == "submitted"
    assert again["ETag"] == first["ETag"]
    assert claim.events.filter(action="submit").count() == 1
    assert client.post(f"/api/v1/claims/{claim.pk}/submit").status_code == 409  # without the key: acts, and fails


def test_a_retried_create_replays_the_201_instead_of_a_409():
    _claim, user = ready_advance()
    segur_campaign("other-campaign")
    client = token_client(user)
    body = {"campaign": "other-campaign", "kind": "advance"}
    first = client.post("/api/v1/claims", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = client.post("/api/v1/claims", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == f"/api/v1/claims/{first.json()['id']}"
    assert Claim.objects.filter(campaign__code="other-campaign").count() == 1


def test_a_failure_is_not_remembered_a_retry_runs_again(owner):
    claim, client = owner
    Document.objects.filter(claim=claim).update(kind="other")  # the conformity report is now missing
    failed = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY)
    assert failed.status_code == 409
    assert not IdempotencyKey.objects.exists()
    Document.objects.filter(claim=claim).update(kind="conformity_report")
    assert client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY).status_code == 200


def test_keys_are_per_user(owner, stranger):
    claim, client = owner
    assert client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY).status_code == 200
    # Another operator's user with the same key: their own request (a 404 here), never our stored response.
    response = stranger.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY)
    assert response.status_code == 404


def test_a_request_still_running_with_the_same_key_is_409(owner):
    claim, client = owner
    user = claim.documents.first().uploaded_by
    fingerprint = idempotency.fingerprint(
        method="POST", path=f"/api/v1/claims/{claim.pk}/submit", body_sha256=idempotency.hashlib.sha256().hexdigest()
    )
    IdempotencyKey.objects.create(
        user=user, key=KEY, fingerprint=fingerprint, state=IdempotencyState.PROCESSING, created_at=timezone.now()
    )
    response = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    claim.refresh_from_db()
    assert claim.state == "draft"


def test_a_reservation_whose_request_died_is_taken_over(owner, settings):
    claim, client = owner
    user = claim.documents.first().uploaded_by
    fingerprint = idempotency.fingerprint(
        method="POST", path=f"/api/v1/claims/{claim.pk}/submit", body_sha256=idempotency.hashlib.sha256().hexdigest()
    )
    IdempotencyKey.objects.create(
        user=user,
        key=KEY,
        fingerprint=fingerprint,
        state=IdempotencyState.PROCESSING,
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS + 1),
    )
    assert client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY).status_code == 200


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_an_invalid_key_is_400(owner, key):
    claim, client = owner
    response = client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_an_anonymous_request_with_a_key_reserves_nothing(owner, api_client):
    claim, _ = owner
    assert api_client.post(f"/api/v1/claims/{claim.pk}/submit", HTTP_IDEMPOTENCY_KEY=KEY).status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_after_24_hours_the_key_is_forgotten_and_the_daily_job_purges_it(owner, settings):
    claim, client = owner
    assert upload(client, claim).status_code == 201
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS, seconds=1)
    )
    assert not upload(client, claim).has_header("Idempotent-Replayed")  # acted again: version 2
    assert Document.objects.filter(claim=claim, kind="other").count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_keys.delay().get() == 1
    assert not IdempotencyKey.objects.exists()


def test_a_webhook_created_twice_with_one_key_is_one_hook_and_one_secret(owner, settings):
    claim, client = owner
    body = {"url": "https://hooks.example.fr/idem"}
    first = client.post("/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = client.post("/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == again.status_code == 201
    assert again.json()["secret"] == first.json()["secret"]
    assert first["Location"] == f"/api/v1/webhooks/{first.json()['id']}"
    assert Webhook.objects.filter(operator=claim.operator).count() == 1


def test_session_clients_get_the_same_replay_with_the_csrf_token_in_the_form(owner):
    """Session authentication reads the form for the CSRF token before the view: the body is spooled first."""

    claim, _ = owner
    user = claim.documents.first().uploaded_by
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/portail/")
    token = browser.cookies["csrftoken"].value
    form = {"kind": "other", "file": pdf(content=PDF), "csrfmiddlewaretoken": token}
    first = browser.post(f"/api/v1/claims/{claim.pk}/documents", form, HTTP_IDEMPOTENCY_KEY=KEY)
    form = {"kind": "other", "file": pdf(content=PDF), "csrfmiddlewaretoken": token}
    again = browser.post(f"/api/v1/claims/{claim.pk}/documents", form, HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true"


def test_multipart_boundaries_do_not_change_the_fingerprint():
    def body(boundary):
        return (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n--{boundary}--\r\n'
        ).encode()

    def digest(boundary, chunk):
        d = idempotency._BodyDigest(idempotency._boundary_marker(f"multipart/form-data; boundary={boundary}"))
        raw = body(boundary)
        for start in range(0, len(raw), chunk):
            d.update(raw[start : start + chunk])
        return d.hexdigest()

    assert len({digest("aaaa1111", 3), digest("bbbb2222bbbb", 7), digest("c", 1000)}) == 1
    assert digest("aaaa1111", 5) != idempotency._BodyDigest(None).hexdigest()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_requests_with_one_key_act_once(settings):
    """Two threads, one key: one uploads, the other is told 409 (still running) or gets the replay."""

    claim, user = ready_advance()
    clients = [token_client(user), token_client(user)]
    barrier = threading.Barrier(2)
    statuses = []
    original = idempotency.idempotency_begin

    def slow_begin(**kwargs):
        barrier.wait(timeout=10)
        return original(**kwargs)

    def run(client):
        try:
            statuses.append(upload(client, claim).status_code)
        finally:
            connections.close_all()

    idempotency.idempotency_begin = slow_begin
    try:
        threads = [threading.Thread(target=run, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        idempotency.idempotency_begin = original
    assert sorted(statuses) in ([201, 201], [201, 409])
    assert Document.objects.filter(claim=claim, kind="other").count() == 1
    assert connection.vendor == "postgresql"
