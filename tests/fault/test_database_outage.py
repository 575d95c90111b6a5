"""PostgreSQL goes away during a run: requests fail cleanly (503), nothing is half-written, and the
app recovers by itself when the database is back — no restart of the app.

The "restart" is played by a TCP proxy between the app and PostgreSQL: it cuts every live
connection and refuses new ones, as a restarting server does, then lets them through again.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.db import connection

from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent
from tests.factories import api_key_for, ready_advance
from tests.fault.proxy import FlakyProxy
from tests.fault.support import database_url, free_port, stop, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def call(base, path, token, method="GET"):
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def app_behind_proxy(tmp_path):
    settings_dict = connection.settings_dict
    proxy = FlakyProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env={
            **os.environ,
            "DATABASE_URL": database_url(host="127.0.0.1", port=proxy.port),
            "CONN_MAX_AGE": "60",  # persistent connections: the hard case for recovery
            "CELERY_BROKER_URL": "",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _up(base), timeout=60), (tmp_path / "server.log").read_text()
        yield base, proxy
    finally:
        stop(server)
        log.close()
        proxy.close()


def _up(base):
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2):
            return True
    except OSError:
        return False


def test_requests_fail_cleanly_while_postgresql_restarts_then_recover(app_behind_proxy):
    base, proxy = app_behind_proxy
    claim, user = ready_advance()
    token = api_key_for(user)

    assert call(base, "/api/v1/claims/", token)[0] == 200

    proxy.cut()
    status, body = call(base, "/api/v1/claims/", token)
    assert (status, body["code"]) == (503, "service_unavailable")
    status, body = call(base, f"/api/v1/claims/{claim.pk}/submit", token, method="POST")
    assert status == 503
    assert call(base, "/readyz", token)[0] == 503
    assert call(base, "/healthz", token)[0] == 200  # the process itself is alive

    proxy.restore()
    assert wait_for(lambda: call(base, "/api/v1/claims/", token)[0] == 200, timeout=30)
    # Nothing was half-written by the request that failed: the claim is still a draft, no submit event.
    claim.refresh_from_db()
    assert claim.state == ClaimState.DRAFT
    assert not ClaimEvent.objects.filter(claim=claim, action="submit").exists()
    # And the app works again without a restart: the submission now goes through.
    status, body = call(base, f"/api/v1/claims/{claim.pk}/submit", token, method="POST")
    assert status == 200, body
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.SUBMITTED
