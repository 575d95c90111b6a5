"""Tasks spanning the apps, and what every e-mail task retries on: the mail server and the database
failing for a while alike.

A database that is restarting or unreachable (OperationalError, InterfaceError) is as transient as
an SMTP error; the task is safe to run twice (the "sent" row is written with the send), so it is
retried with the same backoff instead of waiting for the outbox sweep.
"""

from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError

EMAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError, OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(acks_late=True)
def purge_idempotency_keys():
    """Forget the Idempotency-Keys older than IDEMPOTENCY_TTL_HOURS (daily; safe to run twice)."""
    from common.idempotency import purge_expired_keys

    return purge_expired_keys()
