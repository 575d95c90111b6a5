"""Celery tasks of the claims app: thin, safe to run twice, retried by Celery; the logic lives in
services, emails and audit. The e-mail tasks live with the outbox that queues them
(claims.notifications) and are listed here with the periodic jobs (config.celery's beat_schedule)."""

from datetime import timedelta

from celery import shared_task

from claims import emails, notifications, services
from claims.audit import audit_anchor
from claims.notifications import (
    notify_claim_event,
    send_correction_notice,
    send_deadline_reminder,
    send_decision_letter,
)
from common.timestamping import TimestampError

__all__ = [
    "anchor_audit",
    "daily_housekeeping",
    "flush_notification_outbox",
    "notify_claim_event",
    "send_correction_notice",
    "send_deadline_reminder",
    "send_decision_letter",
]


@shared_task(acks_late=True)
def daily_housekeeping():
    return services.daily_housekeeping()


@shared_task(acks_late=True)
def flush_notification_outbox(older_than_seconds=120):
    ids = emails.pending_event_ids(older_than=timedelta(seconds=older_than_seconds))
    for event_id in ids:
        notifications.schedule_event_notification(event_id)
    return len(ids)


@shared_task(acks_late=True, autoretry_for=(TimestampError,), retry_backoff=300, retry_backoff_max=3600, max_retries=6)
def anchor_audit():
    """Daily checkpoint of every audit chain head (signed; time-stamped when AUDIT_TSA_URL is set).
    Retried while the time-stamp authority fails; a second run the same day only adds a checkpoint."""
    return audit_anchor().pk
