"""The funding app's notification outbox: the growth-flags e-mail task and what queues it after commit.

The task keeps its `funding.tasks.*` name (messages queued before a deploy still find it); a broker outage
never fails the refresh (common.queueing.enqueue logs it)."""

from celery import shared_task

from common.queueing import EMAIL_RETRY, enqueue
from funding import emails


@shared_task(name="funding.tasks.notify_growth_flags", acks_late=True, **EMAIL_RETRY)
def notify_growth_flags(campaign_id):
    return emails.send_growth_flags(campaign_id)


def schedule_growth_flags(campaign_id):
    """Queue the e-mail of a campaign's new flags."""
    enqueue(notify_growth_flags, campaign_id)
