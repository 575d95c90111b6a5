"""Property-based run over the OpenAPI schema (schemathesis through WSGI, no network) against `seed_demo`
data: no 5xx, and every response conforms to its documented status codes, content types and bodies.

Each operation runs twice as op-alpha: with generated path parameters (mostly unknown ids: 404s), then
with the ids of op-alpha's own demo objects. Bounded to stay fast: SCHEMATHESIS_MAX_EXAMPLES examples
per run (default 8). One pytest test drives every operation (schemathesis' lazy pytest loader does
not support pytest 9), and lists every failure at the end.
"""

import io
import os
import time

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from claims.models import Claim
from config.wsgi import application
from operators import services
from operators.models import ApiToken, Enrolment

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def demo_ids():
    """Path parameters naming op-alpha's own demo objects, by path prefix."""
    alpha = Enrolment.objects.get(user__username="op-alpha")
    claim = Claim.objects.filter(operator=alpha.operator).order_by("pk").first()
    webhook, _ = services.webhook_create(operator=alpha.operator, url="https://hooks.example.fr/demo", actor=alpha.user)
    return {
        "/api/v1/claims/": {"id": claim.pk, "doc_id": claim.documents.order_by("pk").first().pk},
        "/api/v1/enrolments/": {"id": alpha.pk, "doc_id": alpha.documents.order_by("pk").first().pk},
        "/api/v1/webhooks/": {"id": webhook.pk},
        "/api/v1/campaigns/": {"code": "demo"},
    }


def closing(app):
    """The WSGI app, closing each response as a WSGI server does (a streamed download holds its file)."""

    def wrapped(environ, start_response):
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            result.close()

    return wrapped


def real_parameters(path, ids):
    names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    for prefix, values in ids.items():
        if path.startswith(prefix) and names and names <= set(values):
            return {name: values[name] for name in names}
    return None


@pytest.fixture
def keep_test_connection():
    """Requests served through WSGI must not close the test's database connection at their end
    (Django's test client does the same around its requests)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_conforms_to_its_schema(settings, monkeypatch, capsys, keep_test_connection):
    call_command("seed_demo", stdout=io.StringIO())
    settings.AXES_ENABLED = False  # generated logins must not lock the demo accounts out
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"simulate": None, "token": None, "invitation": None})

    schema = schemathesis.openapi.from_wsgi("/api/schema/", closing(application))
    ids = demo_ids()
    alpha = Enrolment.objects.get(user__username="op-alpha").user
    token, key = services.api_token_issue(user=alpha, name="schemathesis")
    headers = {"Authorization": f"Token {key}"}

    failures, examples, operations, started = [], 0, 0, time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        runs = [operation.as_strategy()]
        real = real_parameters(operation.path, ids)
        if real:
            runs.append(operation.as_strategy(path_parameters=real))
        for strategy in runs:

            @SETTINGS
            @given(case=strategy)
            def run(case):
                nonlocal examples
                examples += 1
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS)
                finally:
                    # DELETE /auth/token revokes op-alpha's token: bring it back for the next cases.
                    if not ApiToken.objects.filter(pk=token.pk).exists():
                        token.save(force_insert=True)

            try:
                run()
            except (Exception, BaseExceptionGroup) as error:  # collected, all reported below
                failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    with capsys.disabled():
        print(
            f"\nschemathesis: {operations} operations, {examples} examples, "
            f"{time.monotonic() - started:.1f} s, {len(failures)} failing"
        )
    assert failures == [], "\n\n".join(failures)
