"""Celery tasks of the funding app: thin, safe to run twice; the logic lives in services/notifications."""

from celery import shared_task

from common.tasks import EMAIL_RETRY
from funding import notifications, services


@shared_task(acks_late=True)
def refresh_growth_checks():
    """Daily: refresh the growth checks of the campaigns whose reference or closure snapshot changed."""
    return [campaign.code for campaign in services.growth_checks_refresh_stale()]


@shared_task(acks_late=True, **EMAIL_RETRY)
def notify_growth_flags(campaign_id):
    return notifications.send_growth_flags(campaign_id)
