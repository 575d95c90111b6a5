"""The broker is down: transitions still commit at once, and their e-mails go out once it is back."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings

from claims.emails import pending_event_ids
from claims.enums import ClaimState
from claims.models import Claim, SentNotification
from claims.tasks import flush_notification_outbox
from config.celery import app as celery_app
from tests.factories import api_key_for, ready_advance
from tests.fault.proxy import FlakyProxy
from tests.fault.support import database_url, start_worker, stop, wait_for

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url, token):
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_transition_commits_while_the_broker_is_down_and_its_e_mail_follows(tmp_path):
    broker = urlparse(settings.CELERY_BROKER_URL)
    proxy = FlakyProxy(broker.hostname, broker.port or 6379)
    queue = f"outbox-{os.getpid()}-{time.monotonic_ns()}"
    proxied_broker = f"redis://127.0.0.1:{proxy.port}{broker.path or '/0'}"
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": proxied_broker,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        assert wait_for(lambda: _up(port), timeout=60), (tmp_path / "server.log").read_text()
        claim, user = ready_advance()
        token = api_key_for(user)

        proxy.cut()  # the broker goes down
        started = time.monotonic()
        status = post(f"http://127.0.0.1:{port}/api/v1/claims/{claim.pk}/submit", token)
        elapsed = time.monotonic() - started
        assert status == 200, (tmp_path / "server.log").read_text()
        assert elapsed < 15, f"a dead broker held the request for {elapsed:.1f} s"
        assert Claim.objects.get(pk=claim.pk).state == ClaimState.SUBMITTED
        event = claim.events.get(action="submit")
        assert event.pk in pending_event_ids(older_than=timedelta(0))

        proxy.restore()  # the broker is back: a worker and the periodic outbox flush deliver it
        worker = start_worker(
            queue=queue,
            log_path=tmp_path / "worker.log",
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            CELERY_TASK_DEFAULT_QUEUE=queue,
        )
        celery_app.conf.task_always_eager = False
        flush_notification_outbox.apply_async(kwargs={"older_than_seconds": 0}, queue=queue)
        assert wait_for(lambda: SentNotification.objects.filter(event=event).exists(), timeout=60), (
            tmp_path / "worker.log"
        ).read_text()
    finally:
        stop(server)
        log.close()
        if worker is not None:
            stop(worker)
        proxy.close()


def _up(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return True
    except OSError:
        return False
