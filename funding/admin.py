from django.contrib import admin

from common.admin import BaseAdmin
from funding.models import Campaign, FundingSchedule, MailboxCount


@admin.register(FundingSchedule)
class FundingScheduleAdmin(BaseAdmin):
    list_display = ["code", "label", "rate_app", "rate_org", "rate_per", "base", "cap", "advance_share", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        # A schedule in use is frozen: publish a new version instead of editing rates.
        if obj is not None and obj.campaigns.exists():
            return ["code", "rate_app", "rate_org", "rate_per", "base", "cap", "advance_share"]
        return []


@admin.register(Campaign)
class CampaignAdmin(BaseAdmin):
    list_display = ["code", "label", "schedule", "closure_date", "advance_deadline", "balance_deadline"]
    search_fields = ["code", "label"]
    list_select_related = ["schedule"]


@admin.register(MailboxCount)
class MailboxCountAdmin(BaseAdmin):
    list_display = ["operator", "mailbox_type", "as_of", "count", "source", "entered_by"]
    list_filter = ["mailbox_type", "source", "as_of"]
    search_fields = ["operator__legal_name", "operator__siren"]
    list_select_related = ["operator", "entered_by"]
    autocomplete_fields = ["operator"]
