"""The operators' notification outbox: what services queue after commit, and the e-mail tasks it queues.

Each `schedule_*` queues a thin task that calls operators.emails; a broker outage never fails the
request (common.queueing.enqueue logs it). The tasks keep their `operators.tasks.*` names, so messages
queued before a deploy still find them; operators.tasks lists them with the other jobs.
"""

from celery import shared_task

from common.queueing import EMAIL_RETRY, enqueue
from operators import emails


@shared_task(name="operators.tasks.notify_enrolment_event", acks_late=True, **EMAIL_RETRY)
def notify_enrolment_event(event_id):
    return emails.send_enrolment_notification(event_id)


@shared_task(name="operators.tasks.notify_bank_details_event", acks_late=True, **EMAIL_RETRY)
def notify_bank_details_event(event_id):
    return emails.send_bank_details_notification(event_id)


@shared_task(name="operators.tasks.send_invitation_email", acks_late=True, **EMAIL_RETRY)
def send_invitation_email(invitation_id, token):
    return emails.send_invitation_email(invitation_id, token)


@shared_task(name="operators.tasks.send_webhook_disabled_email", acks_late=True, **EMAIL_RETRY)
def send_webhook_disabled_email(webhook_id):
    return emails.send_webhook_disabled_email(webhook_id)


def schedule_enrolment_notification(event_id):
    enqueue(notify_enrolment_event, event_id)


def schedule_bank_details_notification(event_id):
    enqueue(notify_bank_details_event, event_id)


def schedule_invitation_email(invitation_id, token):
    enqueue(send_invitation_email, invitation_id, token)


def schedule_webhook_disabled_email(webhook_id):
    enqueue(send_webhook_disabled_email, webhook_id)
