"""The claims' notification outbox: what is queued after commit, and the e-mail tasks it queues.

Services call `schedule_*` from `transaction.on_commit`; each queues a thin task that calls
claims.emails (who is told, what they read, at most once). A broker outage never fails the request
(common.queueing.enqueue logs it); tasks.flush_notification_outbox re-queues the transition e-mails whose
task never ran. The tasks keep their `claims.tasks.*` names, so messages queued before a deploy still
find them; claims.tasks lists them with the periodic jobs.
"""

from celery import shared_task

from claims import emails
from claims.webhooks import fan_out_claim_event
from common.queueing import EMAIL_RETRY, enqueue


@shared_task(name="claims.tasks.notify_claim_event", acks_late=True, **EMAIL_RETRY)
def notify_claim_event(event_id):
    return emails.send_event_notification(event_id)


@shared_task(name="claims.tasks.send_deadline_reminder", acks_late=True, **EMAIL_RETRY)
def send_deadline_reminder(claim_id, deadline, days_left):
    return emails.send_deadline_reminder(claim_id, deadline, days_left)


@shared_task(name="claims.tasks.send_correction_notice", acks_late=True, **EMAIL_RETRY)
def send_correction_notice(claim_id, kind):
    return emails.send_correction_notice(claim_id, kind)


@shared_task(name="claims.tasks.send_decision_letter", acks_late=True, **EMAIL_RETRY)
def send_decision_letter(document_id):
    return emails.send_decision_letter(document_id)


def schedule_event_notification(event_id):
    enqueue(notify_claim_event, event_id)
    # The operator's webhooks: deliveries written, then queued (never raises, like enqueue).
    fan_out_claim_event(event_id)


def schedule_deadline_reminder(claim_id, deadline, days_left):
    enqueue(send_deadline_reminder, claim_id, deadline.isoformat(), days_left)


def schedule_decision_letter(document_id):
    enqueue(send_decision_letter, document_id)


def schedule_correction_notice(claim_id, kind):
    enqueue(send_correction_notice, claim_id, kind)
