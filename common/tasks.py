"""Tasks spanning the apps, and what every e-mail task retries on: the mail server and the database
failing for a while alike.

A database that is restarting or unreachable (OperationalError, InterfaceError) is as transient as
an SMTP error; the task is safe to run twice (the "sent" row is written with the send), so it is
retried with the same backoff instead of waiting for the outbox sweep.
"""

import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from common.idempotency import purge_expired_keys

logger = logging.getLogger(__name__)

EMAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError, OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


def enqueue(task: Any, *args: object) -> None:
    """Queue a task from `transaction.on_commit`: a broker outage must never fail the request that already
    committed (each app's outbox sweep queues it again later)."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not queue %s%s; the outbox flush will retry", task.name, args)


@shared_task(acks_late=True)
def purge_idempotency_keys():
    """Forget the Idempotency-Keys older than IDEMPOTENCY_TTL_HOURS (daily; safe to run twice)."""
    return purge_expired_keys()
