"""Tasks spanning the apps. The antivirus tasks live beside their code (common.scanning) and are listed
here, where the worker's autodiscovery looks; queueing and the e-mail retry policy: common.queueing."""

from celery import shared_task

from common.idempotency import purge_expired_keys
from common.scanning import SCAN_MAX_RETRIES, rescan_pending_files, scan_stored_file, send_infected_alert

__all__ = [
    "SCAN_MAX_RETRIES",
    "purge_idempotency_keys",
    "rescan_pending_files",
    "scan_stored_file",
    "send_infected_alert",
]


@shared_task(acks_late=True)
def purge_idempotency_keys():
    """Forget the Idempotency-Keys older than IDEMPOTENCY_TTL_HOURS (daily; safe to run twice)."""
    return purge_expired_keys()
