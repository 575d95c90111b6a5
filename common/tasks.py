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


# clamd down or restarting: retried after 30 s, 60 s, 120 s… (capped at 10 min), then left to the
# sweep (rescan_pending_files). The file stays pending, never served, meanwhile.
SCAN_MAX_RETRIES = 6


@shared_task(bind=True, acks_late=True, max_retries=SCAN_MAX_RETRIES)
def scan_stored_file(self, model_label, pk):
    """Scan one uploaded proof with clamd (common.scanning); safe to run twice."""
    from common import antivirus, scanning

    try:
        return scanning.scan_stored_file(model_label=model_label, pk=pk)
    except antivirus.ClamdUnavailable as error:
        if self.request.retries >= self.max_retries:
            return None  # still pending: the sweep queues it again
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 600)) from error


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_infected_alert(model_label, pk):
    from common import scanning

    return scanning.send_infected_alert(model_label=model_label, pk=pk)


@shared_task(acks_late=True)
def rescan_pending_files():
    """Queue again the scans still pending after 10 minutes (periodic; safe to run twice)."""
    from common import scanning

    return scanning.rescan_pending()
