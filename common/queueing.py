"""Queueing a Celery task from a committed request, and the retry policy of every e-mail task (the mail
server and the database failing for a while alike).

A database that is restarting or unreachable (OperationalError, InterfaceError) is as transient as
an SMTP error; the task is safe to run twice (the "sent" row is written with the send), so it is
retried with the same backoff instead of waiting for the outbox sweep. Kept apart from common.tasks,
which lists the tasks, so that modules declaring their own tasks can import it without a cycle.
"""

import logging
from smtplib import SMTPException
from typing import Any

from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

EMAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError, OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


def enqueue(task: Any, *args: object, then: str = "the outbox flush will retry") -> None:
    """Queue a task from `transaction.on_commit`: a broker outage must never fail the request that already
    committed (each app's outbox sweep queues it again later); `then` says in the log what happens next."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not queue %s%s; %s", task.name, args, then)
