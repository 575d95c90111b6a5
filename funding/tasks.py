"""Celery tasks of the funding app: thin, safe to run twice; the logic lives in services and emails.
The e-mail task lives with the outbox that queues it (funding.notifications) and is listed here."""

from celery import shared_task

from funding import services
from funding.notifications import notify_growth_flags

__all__ = ["notify_growth_flags", "refresh_growth_checks"]


@shared_task(acks_late=True)
def refresh_growth_checks():
    """Daily: refresh the growth checks of the campaigns whose reference or closure snapshot changed."""
    return [campaign.code for campaign in services.growth_checks_refresh_stale()]
