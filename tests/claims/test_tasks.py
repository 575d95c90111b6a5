"""Daily job, reminders and transition e-mails: after commit, once each, safe to run twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from claims import emails, services, tasks
from claims.enums import ClaimState
from claims.models import Claim, SentNotification
from config.celery import app
from funding.calendar import paris_today
from tests.factories import agent, claim_in_state, ready_advance

pytestmark = pytest.mark.django_db


def test_submission_e_mails_the_agents_after_commit(django_capture_on_commit_callbacks, mailoutbox):
    claim, user = ready_advance()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.claim_submit(claim=claim, actor=user)
    assert mailoutbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    # The agents are told; the operator gets its receipt (accusé de dépôt) as an attachment.
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == ["instruction@localhost"]
    assert "Déposée" in mailoutbox[0].subject
    assert user.email in mailoutbox[1].to and mailoutbox[1].attachments


def test_agent_decisions_e_mail_the_operator(django_capture_on_commit_callbacks, mailoutbox):
    claim, user = claim_in_state("in_review")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_request_changes(claim=claim, actor=agent(), comment="Merci de joindre la facture.")
    assert len(mailoutbox) == 1
    assert user.email in mailoutbox[0].to
    assert "Merci de joindre la facture." in mailoutbox[0].body
    assert "Réponse attendue avant le" in mailoutbox[0].body


def test_an_event_e_mail_is_sent_once_even_if_the_task_runs_twice(mailoutbox):
    claim, _user = claim_in_state("submitted")
    event = claim.events.get(action="submit")
    mailoutbox.clear()
    SentNotification.objects.filter(event=event).delete()
    assert tasks.notify_claim_event(event.pk) is True
    assert tasks.notify_claim_event(event.pk) is False
    assert len(mailoutbox) == 1


def test_failed_send_is_retried_then_sent_once(monkeypatch, mailoutbox):
    claim, _user = claim_in_state("submitted")
    event = claim.events.get(action="submit")
    SentNotification.objects.filter(event=event).delete()
    mailoutbox.clear()
    calls = {"n": 0}
    real_send = emails.send_mail

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("SMTP down")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(emails, "send_mail", flaky)
    with pytest.raises(OSError):
        emails.send_event_notification(event.pk)
    assert not SentNotification.objects.filter(event=event).exists()  # rolled back: will be retried
    assert emails.send_event_notification(event.pk) is True
    assert len(mailoutbox) == 1


def test_outbox_lists_transition_events_whose_e_mail_was_lost():
    claim, _ = claim_in_state("submitted")
    event = claim.events.get(action="submit")
    SentNotification.objects.filter(event=event).delete()
    assert event.pk in emails.pending_event_ids(older_than=timedelta(0))
    assert tasks.flush_notification_outbox.apply(kwargs={"older_than_seconds": 0}).get() >= 1
    assert SentNotification.objects.filter(event=event).exists()


def test_broker_outage_does_not_fail_the_transition(monkeypatch, django_capture_on_commit_callbacks):
    claim, user = ready_advance()

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.notify_claim_event, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        claim = services.claim_submit(claim=claim, actor=user)
    assert claim.state == ClaimState.SUBMITTED
    assert claim.events.get(action="submit").pk in emails.pending_event_ids(older_than=timedelta(0))


def test_daily_job_lapses_drafts_past_their_deadline_once():
    claim, _ = ready_advance()
    after = timezone.now() + timedelta(days=32)
    assert services.daily_housekeeping(at=after)["lapsed"] == 1
    claim.refresh_from_db()
    assert claim.state == ClaimState.LAPSED
    assert claim.events.get(action="lapse").actor is None
    assert services.daily_housekeeping(at=after)["lapsed"] == 0


def test_daily_job_leaves_drafts_within_their_deadline():
    claim, _ = ready_advance()
    assert services.daily_housekeeping()["lapsed"] == 0
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.DRAFT


@pytest.mark.parametrize(("days_before", "threshold"), [(14, 14), (7, 7), (1, 1), (5, 7)])
def test_deadline_reminder_is_sent_once_per_threshold(
    days_before, threshold, mailoutbox, django_capture_on_commit_callbacks
):
    claim, _user = ready_advance()
    deadline = claim.campaign.advance_deadline
    today = deadline - timedelta(days=days_before)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_deadline_reminders(today=today, thresholds=[14, 7, 1])
        again = services.send_deadline_reminders(today=today, thresholds=[14, 7, 1])
    assert (first, again) == (1, 0)
    assert len(mailoutbox) == 1
    assert f"dans {days_before} jour(s)" in mailoutbox[0].body
    assert SentNotification.objects.filter(key__endswith=f":{threshold}").exists()


def test_no_reminder_further_than_the_largest_threshold(mailoutbox):
    claim, _ = ready_advance()
    today = claim.campaign.advance_deadline - timedelta(days=20)
    assert services.send_deadline_reminders(today=today, thresholds=[14, 7, 1]) == 0


def test_correction_reminder_before_due_and_agent_alert_after(mailoutbox, django_capture_on_commit_callbacks):
    claim, user = claim_in_state("in_review")
    instructor = claim.assigned_to
    due = paris_today() + timedelta(days=15)
    claim = services.claim_request_changes(claim=claim, actor=instructor, comment="Facture manquante.", due=due)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_correction_reminders(today=due - timedelta(days=10)) == 0
        assert services.send_correction_reminders(today=due - timedelta(days=2)) == 1
        assert services.send_correction_reminders(today=due - timedelta(days=1)) == 0
        assert services.send_correction_reminders(today=due + timedelta(days=1)) == 1
        assert services.send_correction_reminders(today=due + timedelta(days=2)) == 0
    assert [sorted(m.to) for m in mailoutbox] == [
        sorted([user.email, claim.operator.contact_email]),
        [instructor.email],
    ]
    assert "Facture manquante." in mailoutbox[0].body
    assert "n'a pas répondu" in mailoutbox[1].body


def test_beat_schedule_declares_the_daily_job():
    assert app.conf.beat_schedule["daily-claims-housekeeping"]["task"] == "claims.tasks.daily_housekeeping"
