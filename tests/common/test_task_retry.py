"""E-mail tasks retry when the database fails for a while, as they do on SMTP errors."""

from smtplib import SMTPServerDisconnected

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from claims import emails
from claims import tasks as claim_tasks
from operators import tasks as operator_tasks

EMAIL_TASKS = [
    claim_tasks.notify_claim_event,
    claim_tasks.send_deadline_reminder,
    claim_tasks.send_correction_notice,
    claim_tasks.send_decision_letter,
    operator_tasks.notify_enrolment_event,
    operator_tasks.send_invitation_email,
    operator_tasks.send_webhook_disabled_email,
]


@pytest.mark.parametrize("task", EMAIL_TASKS, ids=lambda task: task.name)
def test_every_email_task_retries_on_database_and_smtp_errors(task):
    assert issubclass(OperationalError, task.autoretry_for) or OperationalError in task.autoretry_for
    assert any(issubclass(SMTPServerDisconnected, kind) for kind in task.autoretry_for)


@pytest.mark.parametrize(
    "error", [OperationalError("server closed the connection unexpectedly"), SMTPServerDisconnected()]
)
def test_a_transient_failure_schedules_a_retry_and_a_bug_does_not(monkeypatch, error):
    def failing(event_id):
        raise error

    monkeypatch.setattr(emails, "send_event_notification", failing)
    with pytest.raises(Retry):
        claim_tasks.notify_claim_event.apply(args=[42])

    def buggy(event_id):
        raise ValueError("a bug is not retried")

    monkeypatch.setattr(emails, "send_event_notification", buggy)
    with pytest.raises(ValueError):
        claim_tasks.notify_claim_event.apply(args=[42])
