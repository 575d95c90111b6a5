"""Celery tasks of the operators app: thin, safe to run twice; the logic lives in services/notifications."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings

from operators import notifications, services

RETRY = {"autoretry_for": (SMTPException, OSError), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8}


@shared_task(acks_late=True, **RETRY)
def notify_enrolment_event(event_id):
    return notifications.send_enrolment_notification(event_id)


@shared_task(acks_late=True, **RETRY)
def send_invitation_email(invitation_id, token):
    return notifications.send_invitation_email(invitation_id, token)


@shared_task(acks_late=True, **RETRY)
def send_webhook_disabled_email(webhook_id):
    return notifications.send_webhook_disabled_email(webhook_id)


def retry_countdown(attempt):
    """Seconds before attempt n+1: exponential from WEBHOOK_RETRY_BASE_SECONDS, capped at one hour."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), 3600)


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id):
    """One attempt; on failure retry with exponential backoff, and give up after WEBHOOK_MAX_ATTEMPTS."""
    outcome = services.webhook_attempt(delivery_id=delivery_id)
    if outcome != services.ATTEMPT_RETRY:
        return outcome
    attempt = self.request.retries + 1
    if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        services.webhook_give_up(delivery_id=delivery_id)
        return "failed"
    raise self.retry(countdown=retry_countdown(attempt))


@shared_task(acks_late=True)
def flush_webhook_outbox():
    """Re-queue deliveries whose task was lost (broker outage); see services.webhook_stalled_delivery_ids."""
    ids = services.webhook_stalled_delivery_ids()
    for delivery_id in ids:
        notifications._enqueue(deliver_webhook, str(delivery_id))
    return len(ids)
