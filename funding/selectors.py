from funding.models import Campaign, FundingSchedule, MailboxCount


def published_schedules():
    return FundingSchedule.objects.filter(is_published=True).order_by("code")


def schedule_by_code(code):
    return FundingSchedule.objects.filter(code=code).first()


def campaigns():
    return Campaign.objects.select_related("schedule").order_by("-closure_date", "code")


def counts_at(*, operator, day):
    """{type: count} recorded for `day`, or None when nothing was recorded for that day."""
    rows = MailboxCount.objects.filter(operator=operator, as_of=day).values_list("mailbox_type", "count")
    return dict(rows) or None
