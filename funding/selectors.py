from funding.models import Campaign, FundingSchedule


def published_schedules():
    return FundingSchedule.objects.filter(is_published=True).order_by("code")


def schedule_by_code(code):
    return FundingSchedule.objects.filter(code=code).first()


def campaigns():
    return Campaign.objects.select_related("schedule").order_by("-closure_date", "code")
