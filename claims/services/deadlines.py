"""Deadlines: a validator's extension, and the daily job (drafts lapsed, reminders sent once)."""

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from claims import notifications, selectors
from claims.enums import ClaimState
from claims.models import Claim, DeadlineExtension, SentNotification
from claims.workflow import TRANSITIONS, append_claim_event, lock_claim
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import paris_date
from common.roles import Role, is_agent
from common.workflow import COMMENT_REQUIRED
from funding.calendar import paris_today
from funding.models import Campaign
from operators.models import Operator

logger = logging.getLogger("claims.services")


def claim_lapse(*, claim: Claim, at: datetime | None = None) -> Claim:
    return TRANSITIONS.fire(claim, "lapse", actor=None, at=at, comment="Date limite de dépôt dépassée.")


def deadline_extension_grant(
    *,
    operator: Operator,
    campaign: Campaign,
    kind: str,
    new_deadline: date,
    reason: str,
    actor: User,
    at: datetime | None = None,
) -> DeadlineExtension:
    """A validator extends one operator's filing deadline, with a reason; logged on its live claim."""
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(COMMENT_REQUIRED, errors={"reason": [COMMENT_REQUIRED]})
    current = selectors.effective_deadline(operator=operator, campaign=campaign, kind=kind)
    if new_deadline <= current:
        message = f"La nouvelle date limite doit être postérieure au {paris_date(current)}."
        raise InvalidInput(message, errors={"new_deadline": [message]})
    with transaction.atomic():
        extension = DeadlineExtension.objects.create(
            operator=operator, campaign=campaign, kind=kind, new_deadline=new_deadline, reason=reason, granted_by=actor
        )
        live = selectors.live_claim(operator=operator, campaign=campaign, kind=kind)
        if live is not None:
            locked = lock_claim(live)
            append_claim_event(
                claim=locked,
                actor=actor,
                action="extend_deadline",
                comment=f"Date limite prolongée au {paris_date(new_deadline)} : {reason}",
                at=at,
            )
    return extension


def _once(key: str) -> bool:
    """Claim the right to send notification `key`; False when it was already sent."""
    _, created = SentNotification.objects.get_or_create(key=key)
    return created


def lapse_overdue_drafts(*, at: datetime | None = None) -> int:
    """Lapse every draft whose operator's effective deadline has passed. Returns how many."""
    at = at or timezone.now()
    lapsed = 0
    drafts = selectors.with_effective_deadline(Claim.objects.filter(state=ClaimState.DRAFT))
    for claim in drafts.filter(effective_deadline__lt=paris_today(at=at)).select_related("operator", "campaign"):
        try:
            claim_lapse(claim=claim, at=at)
            lapsed += 1
        except (StateConflict, GuardFailed):
            logger.info("claim %s changed before it could lapse", claim.pk)
    return lapsed


def send_deadline_reminders(*, today: date, thresholds: Sequence[int]) -> int:
    """Remind operators of drafts N days before their deadline, once per claim and threshold."""
    sent = 0
    horizon = today + timedelta(days=max(thresholds, default=-1))
    drafts = selectors.with_effective_deadline(Claim.objects.filter(state=ClaimState.DRAFT))
    for claim in drafts.filter(effective_deadline__range=(today, horizon)):
        deadline = claim.effective_deadline
        days_left = (deadline - today).days
        threshold = min(n for n in thresholds if days_left <= n)  # the closest reached; a missed day still sends it
        with transaction.atomic():
            if _once(f"deadline:{claim.pk}:{deadline.isoformat()}:{threshold}"):
                transaction.on_commit(partial(notifications.schedule_deadline_reminder, claim.pk, deadline, days_left))
                sent += 1
    return sent


def send_correction_reminders(*, today: date, days_before: int = 3) -> int:
    """Remind operators before a correction is due; alert the agent once it is overdue."""
    sent = 0
    for claim in Claim.objects.filter(state=ClaimState.CHANGES_REQUESTED, correction_due__isnull=False):
        due = claim.correction_due
        assert due is not None  # filtered on above
        if today > due:
            key, kind = f"correction-overdue:{claim.pk}:{due.isoformat()}", "overdue"
        elif (due - today).days <= days_before:
            key, kind = f"correction-reminder:{claim.pk}:{due.isoformat()}", "reminder"
        else:
            continue
        with transaction.atomic():
            if _once(key):
                transaction.on_commit(partial(notifications.schedule_correction_notice, claim.pk, kind))
                sent += 1
    return sent


def daily_housekeeping(*, at: datetime | None = None, thresholds: Sequence[int] | None = None) -> dict[str, int]:
    at = at or timezone.now()
    today = paris_today(at=at)
    return {
        "lapsed": lapse_overdue_drafts(at=at),
        "deadline_reminders": send_deadline_reminders(
            today=today, thresholds=thresholds or settings.DEADLINE_REMINDER_DAYS
        ),
        "correction_notices": send_correction_reminders(today=today),
    }
