"""Deadlines in Europe/Paris: a deadline day is open until its very last instant (DST-correct)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

PARIS = ZoneInfo("Europe/Paris")


def end_of_day(day: date) -> datetime:
    """The last instant of `day` in Paris, as an aware datetime (23:59:59.999999+01/+02)."""
    return datetime.combine(day, time.max, tzinfo=PARIS)


def is_open(deadline_day: date, *, at: datetime | None = None) -> bool:
    """True while `at` (default: now) is on or before the deadline day in Paris."""
    at = at or timezone.now()
    return at <= end_of_day(deadline_day)


def paris_today(*, at: datetime | None = None) -> date:
    return timezone.localtime(at or timezone.now(), PARIS).date()
