"""A Celery worker killed in the middle of a task: the task is redelivered and its e-mail sent once."""

import os
import time

import pytest

from claims import services
from claims.models import SentNotification
from config.celery import app as celery_app
from tests.factories import ready_advance
from tests.fault.support import start_worker, stop, wait_for

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def queue():
    name = f"fault-{os.getpid()}-{time.monotonic_ns()}"
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = "celery"


def test_killed_worker_task_is_redelivered_and_sends_once(queue, tmp_path):
    mails = tmp_path / "mails"
    mails.mkdir()
    env = {
        "EMAIL_BACKEND": "tests.fault.backends.SlowFolderBackend",
        "FAULT_MAIL_DIR": str(mails),
        "CELERY_VISIBILITY_TIMEOUT": "3",
        # Sweep for unacknowledged messages every second (production: every 100 s, timeout 1 h).
        "CELERY_RESTORE_INTERVAL": "1",
        "CELERY_RESTORE_THROTTLE": "1",
    }
    first = start_worker(queue=queue, log_path=tmp_path / "worker1.log", FAULT_MAIL_DELAY="30", **env)
    second = None
    try:
        claim, user = ready_advance()
        claim = services.claim_submit(claim=claim, actor=user)  # after commit: the e-mail task is queued
        event = claim.events.get(action="submit")
        # The first worker takes the task and is killed while sending (before it could ack).
        assert wait_for(lambda: any(mails.glob("started-*")), timeout=60), (tmp_path / "worker1.log").read_text()
        stop(first, kill=True)
        assert not list(mails.glob("mail-*"))
        assert not SentNotification.objects.filter(event=event).exists()  # its transaction died with it

        time.sleep(4)  # past the visibility timeout: the killed delivery is now due for redelivery
        second = start_worker(queue=queue, log_path=tmp_path / "worker2.log", FAULT_MAIL_DELAY="0", **env)
        assert wait_for(lambda: any(mails.glob("mail-*")), timeout=90), (tmp_path / "worker2.log").read_text()
        time.sleep(5)  # a duplicate, if any, would show up now
        assert len(list(mails.glob("mail-*"))) == 1
        assert SentNotification.objects.filter(event=event).count() == 1
    finally:
        stop(first, kill=True)
        if second is not None:
            stop(second)
