"""PostgreSQL hangs (bytes stop, nothing is closed): the app answers 503 JSON within seconds instead of
blocking its workers until gunicorn kills them, /readyz says so in under 2 s, and the app serves again
when the database answers.

The hang is played by a TCP proxy that keeps every connection open and forwards nothing; the app runs
under gunicorn (one sync worker, persistent connections: the hard case, a connection already open).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.factories import api_key_for, ready_advance
from tests.fault.proxy import FlakyProxy
from tests.fault.support import database_url, free_port, stop, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def timed_call(base, path, token=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=40) as response:
            status, body, content_type = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, body, content_type = error.code, error.read(), error.headers["Content-Type"]
    return status, json.loads(body or b"{}"), content_type, time.monotonic() - started


@pytest.fixture
def gunicorn_behind_proxy(tmp_path):
    settings_dict = connection.settings_dict
    proxy = FlakyProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "30",
        ],
        env={
            **os.environ,
            "DATABASE_URL": database_url(host="127.0.0.1", port=proxy.port),
            "CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": "",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _up(base), timeout=60), (tmp_path / "gunicorn.log").read_text()
        yield base, proxy
    finally:
        proxy.thaw()
        stop(server)
        log.close()
        proxy.close()


def _up(base):
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2):
            return True
    except OSError:
        return False


def test_a_hung_database_is_a_quick_503_and_readyz_says_so_in_under_two_seconds(gunicorn_behind_proxy):
    base, proxy = gunicorn_behind_proxy
    claim, user = ready_advance()
    token = api_key_for(user)
    assert timed_call(base, "/api/v1/claims/", token)[0] == 200  # the worker now holds a connection

    proxy.freeze()
    status, body, _, elapsed = timed_call(base, "/readyz")
    assert (status, body["database"]) == (503, "down") and elapsed < 2, (status, body, elapsed)
    status, body, content_type, elapsed = timed_call(base, "/api/v1/claims/", token)
    assert (status, body["code"]) == (503, "service_unavailable"), body
    assert content_type == "application/json" and elapsed < 10, elapsed
    status, body, _, elapsed = timed_call(base, f"/api/v1/claims/{claim.pk}", token)
    assert status == 503 and elapsed < 10, elapsed

    proxy.thaw()
    assert wait_for(lambda: timed_call(base, "/api/v1/claims/", token)[0] == 200, timeout=30)
    assert timed_call(base, "/readyz")[0] == 200
