"""Celery tasks: thin, safe to run twice, retried by Celery; the logic lives in services/notifications."""

from datetime import timedelta

from celery import shared_task

from claims import notifications, services
from common.tasks import EMAIL_RETRY
from common.timestamping import TimestampError


@shared_task(acks_late=True, **EMAIL_RETRY)
def notify_claim_event(event_id):
    return notifications.send_event_notification(event_id)


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_deadline_reminder(claim_id, deadline, days_left):
    return notifications.send_deadline_reminder(claim_id, deadline, days_left)


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_correction_notice(claim_id, kind):
    return notifications.send_correction_notice(claim_id, kind)


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_decision_letter(document_id):
    return notifications.send_decision_letter(document_id)


@shared_task(acks_late=True)
def daily_housekeeping():
    return services.daily_housekeeping()


@shared_task(acks_late=True)
def flush_notification_outbox(older_than_seconds=120):
    ids = notifications.pending_event_ids(older_than=timedelta(seconds=older_than_seconds))
    for event_id in ids:
        notifications.schedule_event_notification(event_id)
    return len(ids)


@shared_task(acks_late=True, autoretry_for=(TimestampError,), retry_backoff=300, retry_backoff_max=3600, max_retries=6)
def anchor_audit():
    """Daily checkpoint of every audit chain head (signed; time-stamped when AUDIT_TSA_URL is set).
    Retried while the time-stamp authority fails; a second run the same day only adds a checkpoint."""
    from claims.audit import audit_anchor

    return audit_anchor().pk
