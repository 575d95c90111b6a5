"""The Celery jobs through a real broker and a real worker process (CI: Redis + PostgreSQL)."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from claims import services, tasks
from claims.enums import ClaimState
from claims.models import Claim, SentNotification
from config.celery import app as celery_app
from tests.factories import ready_advance

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def worker(tmp_path):
    """A Celery worker on the test database, with a queue of its own."""
    queue = f"test-{os.getpid()}"
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
        f"/{settings_dict['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "CONN_MAX_AGE": "0"}
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=WARNING"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_default_queue = "celery"
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for(predicate, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_transition_e_mail_is_sent_by_a_real_worker(worker):
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)  # on_commit queues the task on Redis
    event = claim.events.get(action="submit")
    assert wait_for(lambda: SentNotification.objects.filter(event=event).exists())


def test_daily_job_runs_on_a_real_worker(worker):
    claim, _ = ready_advance()
    Claim.objects.filter(pk=claim.pk).update(created_at=timezone.now() - timedelta(days=60))
    campaign = claim.campaign
    campaign.advance_deadline = timezone.localdate() - timedelta(days=1)
    campaign.balance_deadline = timezone.localdate() + timedelta(days=10)
    campaign.save()
    tasks.daily_housekeeping.delay()
    assert wait_for(lambda: Claim.objects.get(pk=claim.pk).state == ClaimState.LAPSED)
