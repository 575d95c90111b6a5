"""Celery application; periodic jobs are all declared in `beat_schedule` below."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("segur")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Every morning at 06:00 Paris time: lapse drafts past their deadline and send
    # deadline / correction reminders. Idempotent, so a re-run the same day is harmless.
    "daily-claims-housekeeping": {
        "task": "claims.tasks.daily_housekeeping",
        "schedule": crontab(hour=6, minute=0),
    },
    # Every night at 02:30 Paris time: a signed (and, with AUDIT_TSA_URL, time-stamped) checkpoint
    # of every audit chain head, which `verify_audit` then checks the journal still extends.
    "daily-audit-anchor": {
        "task": "claims.tasks.anchor_audit",
        "schedule": crontab(hour=2, minute=30),
    },
    # Every morning at 05:30 Paris time (after the nightly Annuaire extraction is imported): refresh
    # the growth checks of campaigns whose reference or closure snapshot changed, or that have none.
    # An import refreshes them too; this catches an import whose refresh failed and a reference date
    # or closure snapshot changed in the admin. Idempotent.
    "daily-growth-checks": {
        "task": "funding.tasks.refresh_growth_checks",
        "schedule": crontab(hour=5, minute=30),
    },
    # Every night at 03:00 Paris time: forget the API's Idempotency-Keys older than 24 h
    # (IDEMPOTENCY_TTL_HOURS). Idempotent.
    "daily-idempotency-purge": {
        "task": "common.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=0),
    },
    # Every 5 minutes: re-queue transition e-mails whose task was lost (broker outage).
    "notification-outbox": {
        "task": "claims.tasks.flush_notification_outbox",
        "schedule": crontab(minute="*/5"),
    },
    # Every hour at :20: look up again the SIREN/SIRET of enrolments filed while the company
    # directory was unreachable ("non vérifié"); a directory still down changes nothing.
    "company-recheck": {
        "task": "operators.tasks.recheck_companies",
        "schedule": crontab(minute=20),
    },
    # Every 10 minutes: scan again the proofs still "en cours d'analyse" after 10 minutes (their
    # task lost, or clamd down longer than the task's retries). Safe to run twice.
    "antivirus-rescan": {
        "task": "common.tasks.rescan_pending_files",
        "schedule": crontab(minute="*/10"),
    },
    # Every 5 minutes: re-queue webhook deliveries whose task was lost (broker outage, lost retry).
    "webhook-outbox": {
        "task": "operators.tasks.flush_webhook_outbox",
        "schedule": crontab(minute="*/5"),
    },
}
