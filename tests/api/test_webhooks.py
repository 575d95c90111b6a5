"""Webhooks: registration through the API, signed deliveries of claim state changes, retries, disabling."""

import hashlib
import hmac
import http.server
import json
import ssl
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from claims import services as claim_services
from operators import secret_box, services, tasks, webhooks
from operators.enums import WebhookDeliveryStatus
from operators.models import Webhook, WebhookDelivery
from operators.services import webhooks as webhook_services
from tests.factories import claim_in_state, ready_advance, token_client

pytestmark = pytest.mark.django_db


class Receiver:
    """Stands in for `operators.webhooks.post` (no network): records calls, answers `status`."""

    def __init__(self, status=200, error=None):
        self.status, self.error, self.calls = status, error, []

    def __call__(self, url, body, headers, *, timeout=None):
        self.calls.append({"url": url, "body": body, "headers": headers})
        if self.error:
            raise webhooks.DeliveryError(self.error)
        return self.status


@pytest.fixture
def receiver(monkeypatch):
    fake = Receiver()
    monkeypatch.setattr(webhooks, "post", fake)
    return fake


@pytest.fixture
def draft():
    return ready_advance()


def hook_for(claim, user, url="https://hooks.example.fr/segur"):
    return services.webhook_create(operator=claim.operator, url=url, actor=user)


def test_signature_verifies_with_the_operators_secret(draft, receiver, django_capture_on_commit_callbacks):
    claim, user = draft
    _webhook, secret = hook_for(claim, user)
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
    (call,) = receiver.calls
    headers, body = call["headers"], call["body"]
    # What a receiver does, written independently of our signing code:
    expected = hmac.new(secret.encode(), headers["X-Segur-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Segur-Signature"] == "sha256=" + expected.hexdigest()
    assert webhooks.verify(secret, headers["X-Segur-Timestamp"], body, headers["X-Segur-Signature"])
    assert not webhooks.verify("whsec_other", headers["X-Segur-Timestamp"], body, headers["X-Segur-Signature"])
    assert not webhooks.verify(secret, headers["X-Segur-Timestamp"], body + b" ", headers["X-Segur-Signature"])
    payload = json.loads(body)
    assert payload["type"] == "claim.state_changed"
    assert payload["data"]["claim"]["id"] == claim.pk
    assert (payload["data"]["event"]["from_state"], payload["data"]["event"]["to_state"]) == ("draft", "submitted")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert headers["X-Segur-Delivery"] == str(delivery.pk)


def test_stale_timestamps_are_refused_by_verify():
    body = b"{}"
    old = str(int(timezone.now().timestamp()) - 3600)
    assert not webhooks.verify("s", old, body, webhooks.sign("s", old, body))


def test_another_operators_events_never_reach_a_hook(draft, receiver, django_capture_on_commit_callbacks):
    claim, user = draft
    other_claim, other_user = claim_in_state("draft")
    hook_for(other_claim, other_user, url="https://other.example.fr/hook")
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
        claim_services.claim_withdraw(claim=claim, actor=user)
    assert receiver.calls == []
    assert not WebhookDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=other_claim, actor=other_user)
    assert [c["url"] for c in receiver.calls] == ["https://other.example.fr/hook"]


def test_edits_and_uploads_are_not_sent_only_state_changes(draft, receiver, django_capture_on_commit_callbacks):
    claim, user = draft
    hook_for(claim, user)
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_update_details(claim=claim, actor=user, technical_doc_url="https://d.example.fr")
    assert receiver.calls == []


def test_failing_receiver_is_retried_then_the_hook_is_disabled_and_the_operator_told(
    draft, monkeypatch, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DISABLE_AFTER = 2
    failing = Receiver(status=500)
    monkeypatch.setattr(webhooks, "post", failing)
    countdowns = []
    original_schedule = webhook_services.schedule_retry

    def spy_schedule(delivery_id, countdown):
        countdowns.append(countdown)
        return original_schedule(delivery_id, countdown)

    monkeypatch.setattr(webhook_services, "schedule_retry", spy_schedule)
    claim, user = draft
    webhook, _ = hook_for(claim, user)

    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_services.claim_submit(claim=claim, actor=user)
    first = WebhookDelivery.objects.get()
    assert (first.status, first.attempts, first.last_error) == ("failed", 3, "Réponse HTTP 500.")
    assert countdowns == [60, 120]  # exponential backoff between the three attempts
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures) == (True, 1)

    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_withdraw(claim=claim, actor=user)
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures) == (False, 2)
    assert len(failing.calls) == 6
    assert "Webhook désactivé" in mailoutbox[-1].subject
    assert user.email in mailoutbox[-1].to

    # A disabled hook receives nothing more until the operator reactivates it.
    claim2, _ = ready_advance(operator=claim.operator, user=user, campaign=claim.campaign)
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim2, actor=user)
    assert len(failing.calls) == 6
    response = token_client(user).patch(f"/api/v1/webhooks/{webhook.pk}", {"is_active": True}, format="json")
    assert response.json()["is_active"] is True and response.json()["consecutive_failures"] == 0


def test_a_success_resets_the_failure_count(draft, monkeypatch, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    claim, user = draft
    webhook, _ = hook_for(claim, user)
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=3)
    flaky = iter([webhooks.DeliveryError("timeout"), 204])

    def post(url, body, headers, *, timeout=None):
        outcome = next(flaky)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(webhooks, "post", post)
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_broker_outage_keeps_the_delivery_for_the_outbox(
    draft, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    claim, user = draft
    hook_for(claim, user)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.deliver_webhook, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_services.claim_submit(claim=claim, actor=user)
    assert claim.state == "submitted"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING and receiver.calls == []
    later = timezone.now() + timedelta(minutes=6)
    assert services.webhook_stalled_delivery_ids(now=later) == [delivery.pk]
    monkeypatch.undo()
    monkeypatch.setattr(webhooks, "post", receiver)
    monkeypatch.setattr(services, "webhook_stalled_delivery_ids", lambda: [delivery.pk])
    assert tasks.flush_webhook_outbox() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert tasks.deliver_webhook(str(delivery.pk)) == "skipped"  # safe to run twice
    assert len(receiver.calls) == 1


def test_api_registers_lists_rotates_and_deletes_hooks(draft):
    _claim, user = draft
    client = token_client(user)
    response = client.post("/api/v1/webhooks", {"url": "https://hooks.example.fr/a"}, format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_")
    stored = Webhook.objects.get().sealed_secret
    assert created["secret"] not in stored and secret_box.unseal(stored) == created["secret"]  # sealed at rest
    listing = client.get("/api/v1/webhooks/").json()
    assert listing["count"] == 1 and "secret" not in listing["results"][0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{created['id']}").json()
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"] != created["secret"]
    assert secret_box.unseal(Webhook.objects.get().sealed_secret) == rotated["secret"]
    assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["count"] == 0
    assert client.delete(f"/api/v1/webhooks/{created['id']}/").status_code == 204
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.fr/a",
        "https://localhost/a",
        "https://127.0.0.1/a",
        "https://10.0.0.5/a",
        "https://[::1]/a",
        "https://user:pw@hooks.example.fr/a",
        "ftp://hooks.example.fr",
        "not a url",
    ],
)
def test_api_refuses_non_https_or_private_receivers(draft, url):
    _claim, user = draft
    response = token_client(user).post("/api/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_delivery_refuses_host_names_resolving_to_private_addresses(monkeypatch):
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 443))])
    with pytest.raises(webhooks.DeliveryError, match="non publique"):
        webhooks.post("https://intranet.example.fr/hook", b"{}", {})


def test_delivery_log_is_readable_by_the_operator_only(draft, receiver, django_capture_on_commit_callbacks, stranger):
    claim, user = draft
    webhook, _ = hook_for(claim, user)
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
    log = token_client(user).get(f"/api/v1/webhooks/{webhook.pk}/deliveries").json()
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log["results"]] == [
        ("claim.state_changed", "delivered", 1)
    ]
    assert stranger.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").status_code == 404
    assert stranger.post(f"/api/v1/webhooks/{webhook.pk}/rotate-secret").status_code == 404


def test_retry_countdown_grows_exponentially_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    assert [tasks.retry_countdown(n) for n in (1, 2, 3, 7, 10)] == [60, 120, 240, 1800, 1800]


def test_delivery_connects_to_the_address_it_checked_not_to_a_second_lookup(monkeypatch, settings):
    """DNS rebinding: the name answers a public address for the check, then a private one. The
    connection goes to the checked address, TLS still verifies the host name (SNI)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    answers = iter(["203.0.113.7", "10.0.0.1", "10.0.0.1"])
    lookups, connections, tls_names = [], [], []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(2, 1, 6, "", (next(answers), port))]

    class Socket:
        def setsockopt(self, *args):
            pass

        def close(self):
            pass

    def create_connection(address, *args, **kwargs):
        connections.append(address)
        return Socket()

    class Context(webhooks.ssl.SSLContext):
        def wrap_socket(self, sock, server_hostname=None, **kwargs):
            tls_names.append((server_hostname, self.check_hostname, self.verify_mode))
            raise webhooks.ssl.SSLError("stop here: no network in tests")

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(webhooks.socket, "create_connection", create_connection)
    real_default = webhooks.ssl.create_default_context

    def create_default_context(*args, **kwargs):
        context = Context(webhooks.ssl.PROTOCOL_TLS_CLIENT)
        assert real_default().verify_mode == context.verify_mode  # the same checks as the default
        return context

    monkeypatch.setattr(webhooks.ssl, "create_default_context", create_default_context)
    monkeypatch.setattr(webhooks, "is_public_address", lambda address: address == "203.0.113.7")
    with pytest.raises(webhooks.DeliveryError):
        webhooks.post("https://hooks.example.fr:8443/segur", b"{}", {})
    assert lookups == ["hooks.example.fr"]
    assert connections == [("203.0.113.7", 8443)]
    assert tls_names == [("hooks.example.fr", True, webhooks.ssl.CERT_REQUIRED)]


def test_a_pinned_delivery_is_real_https_to_the_checked_address_with_the_name_verified(monkeypatch, settings):
    """End to end over loopback: TLS handshake against a certificate for `hooks.test`, reached at
    the address the check returned; a certificate we do not trust is refused."""

    fixtures = Path(__file__).parent / "fixtures"
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(fixtures / "hooks-test.crt", fixtures / "hooks-test.key")
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    port = server.server_address[1]

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda host, p, *a, **k: [(2, 1, 6, "", ("127.0.0.1", p))])
    monkeypatch.setattr(webhooks, "is_public_address", lambda address: True)  # loopback stands in for the Internet
    default_context = ssl.create_default_context
    try:
        monkeypatch.setattr(
            webhooks.ssl, "create_default_context", lambda: default_context(cafile=fixtures / "hooks-test.crt")
        )
        assert (
            webhooks.post(f"https://hooks.test:{port}/segur", b'{"ok":1}', {"Content-Type": "application/json"}) == 204
        )
        assert received == [(f"hooks.test:{port}", b'{"ok":1}')]
        monkeypatch.setattr(webhooks.ssl, "create_default_context", default_context)
        with pytest.raises(webhooks.DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            webhooks.post(f"https://hooks.test:{port}/segur", b"{}", {})
    finally:
        server.shutdown()
        server.server_close()


def test_secrets_survive_a_secret_key_rotation_kept_in_fallbacks(
    draft, receiver, settings, django_capture_on_commit_callbacks
):
    claim, user = draft
    _webhook, secret = hook_for(claim, user)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789"
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
    (call,) = receiver.calls
    headers = call["headers"]
    assert webhooks.verify(secret, headers["X-Segur-Timestamp"], call["body"], headers["X-Segur-Signature"])


def test_a_secret_no_key_opens_fails_the_attempt_with_a_clear_error(
    draft, receiver, settings, django_capture_on_commit_callbacks
):
    claim, user = draft
    hook_for(claim, user)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "an-unrelated-key-0123456789-abcdefghijkl", []
    with django_capture_on_commit_callbacks(execute=True):
        claim_services.claim_submit(claim=claim, actor=user)
    assert receiver.calls == []  # nothing unsigned or wrongly signed leaves
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts >= 1  # retried (inline here), then given up
    assert "SECRET_KEY_FALLBACKS" in delivery.last_error
