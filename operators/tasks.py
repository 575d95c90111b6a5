"""Celery tasks of the operators app: thin, safe to run twice; the logic lives in services and emails.

The e-mail tasks live with the outbox that queues them (operators.notifications), the webhook delivery
task beside the services that run and queue it (operators.services.webhooks); all are listed here with
the periodic jobs (config.celery's beat_schedule)."""

import logging

from celery import shared_task

from operators import services
from operators.enums import OPEN_ENROLMENT_STATES, CompanyCheck
from operators.models import Enrolment
from operators.notifications import (
    notify_bank_details_event,
    notify_enrolment_event,
    send_invitation_email,
    send_webhook_disabled_email,
)
from operators.services.webhooks import deliver_webhook, retry_countdown

__all__ = [
    "deliver_webhook",
    "flush_webhook_outbox",
    "notify_bank_details_event",
    "notify_enrolment_event",
    "recheck_companies",
    "retry_countdown",
    "send_invitation_email",
    "send_webhook_disabled_email",
]

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def flush_webhook_outbox():
    """Re-queue deliveries whose task was lost (broker outage); see services.webhook_stalled_delivery_ids."""
    ids = services.webhook_stalled_delivery_ids()
    for delivery_id in ids:
        services.schedule_webhook_delivery(delivery_id)
    return len(ids)


@shared_task(acks_late=True)
def recheck_companies():
    """Looks up again the open enrolments filed while the company directory was unreachable."""
    changed = 0
    pending = Enrolment.objects.filter(company_check=CompanyCheck.UNVERIFIED, state__in=OPEN_ENROLMENT_STATES)
    for enrolment in pending.order_by("pk")[:200]:
        changed += services.company_recheck(enrolment=enrolment) is not None
    if changed:
        logger.info("company directory: %s enrolment(s) checked again", changed)
    return changed
