"""Celery tasks of the operators app: thin, safe to run twice; the logic lives in services/notifications."""

import logging

from celery import shared_task
from django.conf import settings

from common.tasks import EMAIL_RETRY
from operators import notifications, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, **EMAIL_RETRY)
def notify_enrolment_event(event_id):
    return notifications.send_enrolment_notification(event_id)


@shared_task(acks_late=True, **EMAIL_RETRY)
def notify_bank_details_event(event_id):
    return notifications.send_bank_details_notification(event_id)


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_invitation_email(invitation_id, token):
    return notifications.send_invitation_email(invitation_id, token)


@shared_task(acks_late=True, **EMAIL_RETRY)
def send_webhook_disabled_email(webhook_id):
    return notifications.send_webhook_disabled_email(webhook_id)


# Below the Redis broker's visibility timeout (1 h), so a delayed retry is never delivered twice.
MAX_RETRY_DELAY = 30 * 60


def retry_countdown(attempt):
    """Seconds before attempt n+1: exponential from WEBHOOK_RETRY_BASE_SECONDS, capped at 30 minutes."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), MAX_RETRY_DELAY)


@shared_task(acks_late=True)
def deliver_webhook(delivery_id):
    """One attempt; on failure the next one is queued with exponential backoff, up to
    WEBHOOK_MAX_ATTEMPTS (counted on the delivery row, so it holds across workers and redeliveries)."""
    outcome, attempts = services.webhook_attempt(delivery_id=delivery_id)
    if outcome != services.ATTEMPT_RETRY:
        return outcome
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        services.webhook_give_up(delivery_id=delivery_id)
        return "failed"
    schedule_retry(delivery_id, retry_countdown(attempts))
    return "retry"


def schedule_retry(delivery_id, countdown):
    """Queue the next attempt; if the broker is down, the outbox flush picks the delivery up later."""
    try:
        deliver_webhook.apply_async((str(delivery_id),), countdown=countdown)
    except Exception:
        logger.exception("could not queue the next attempt of webhook delivery %s", delivery_id)


@shared_task(acks_late=True)
def flush_webhook_outbox():
    """Re-queue deliveries whose task was lost (broker outage); see services.webhook_stalled_delivery_ids."""
    ids = services.webhook_stalled_delivery_ids()
    for delivery_id in ids:
        notifications._enqueue(deliver_webhook, str(delivery_id))
    return len(ids)


@shared_task(acks_late=True)
def recheck_companies():
    """Looks up again the open enrolments filed while the company directory was unreachable."""
    from operators.enums import OPEN_ENROLMENT_STATES, CompanyCheck
    from operators.models import Enrolment

    changed = 0
    pending = Enrolment.objects.filter(company_check=CompanyCheck.UNVERIFIED, state__in=OPEN_ENROLMENT_STATES)
    for enrolment in pending.order_by("pk")[:200]:
        changed += services.company_recheck(enrolment=enrolment) is not None
    if changed:
        logger.info("company directory: %s enrolment(s) checked again", changed)
    return changed
