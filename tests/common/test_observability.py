"""Request ids (X-Request-ID, log records, Celery tasks), JSON log lines and the protected /metrics."""

import json
import logging
from types import SimpleNamespace

import pytest
from pythonjsonlogger.json import JsonFormatter

from claims.enums import ClaimState
from common import observability
from tests.factories import claim_in_state

pytestmark = pytest.mark.django_db


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")

    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]


def test_a_well_formed_incoming_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-0123456789")["X-Request-ID"] == "lb-0123456789"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="x\nforged log line")["X-Request-ID"]
    assert replaced != "x\nforged log line" and len(replaced) == 32


def test_log_lines_of_a_request_are_json_with_its_request_id(client, monkeypatch):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(observability.RequestIdFilter())
    logger = logging.getLogger("portal.auth")
    logger.addHandler(handler)
    try:
        response = client.get("/portail/connexion/", HTTP_X_REQUEST_ID="req-abcdef12")
        observability.request_id_var.set("req-abcdef12")
        logger.warning("portal login refused")
    finally:
        logger.removeHandler(handler)
        observability.request_id_var.set("")
    assert response["X-Request-ID"] == "req-abcdef12"
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
    line = json.loads(formatter.format(records[-1]))
    assert line["request_id"] == "req-abcdef12" and line["message"] == "portal login refused"


def test_the_request_id_travels_with_a_queued_task():
    headers = {}
    token = observability.request_id_var.set("req-queued-1")
    try:
        observability._before_publish(headers=headers)
    finally:
        observability.request_id_var.reset(token)
    assert headers["request_id"] == "req-queued-1"

    task = SimpleNamespace(name="t", request=SimpleNamespace(request_id=None, headers=headers))
    observability._task_prerun(task_id="1", task=task)
    assert observability.current_request_id() == "req-queued-1"
    observability._task_postrun(task_id="1", task=task, state="SUCCESS")
    assert observability.current_request_id() == ""


def test_metrics_are_not_public(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404


def test_metrics_with_the_token_count_requests_claims_and_batches(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    claim_in_state(ClaimState.DRAFT)
    client.get("/healthz")

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")

    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert 'segur_http_requests_total{method="GET",route="healthz",status="200"}' in body
    assert "segur_http_request_duration_seconds_bucket" in body
    assert 'segur_claims{state="draft"} 1.0' in body
    assert "segur_payment_batches_pending 0.0" in body


def test_metrics_for_an_allowed_address(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
