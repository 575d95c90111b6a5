from django.contrib import admin

from claims.models import Claim, ClaimEvent, DeadlineExtension, Document, Payment
from common.admin import BaseAdmin


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    extra = 0
    can_delete = False
    fields = ["seq", "at", "actor_label", "action", "from_state", "to_state", "comment"]
    readonly_fields = fields
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    can_delete = False
    fields = ["kind", "version", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(BaseAdmin):
    list_display = ["id", "operator", "kind", "state", "amount", "submitted_at", "assigned_to"]
    list_filter = ["state", "kind", "campaign", "operator__kind"]
    search_fields = ["=id", "operator__legal_name", "operator__siren", "operator__referencings__number"]
    list_select_related = ["operator", "campaign", "assigned_to"]
    readonly_fields = [
        "operator",
        "campaign",
        "kind",
        "state",
        "schedule_code",
        "counts",
        "breakdown",
        "funded_total",
        "amount",
        "technical_doc_url",
        "approved_by",
        "correction_message",
        "correction_due",
        "decision_reason",
        "submitted_at",
        "decided_at",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields, "assigned_to"]
    inlines = [DocumentInline, ClaimEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(BaseAdmin):
    list_display = ["operator", "campaign", "kind", "new_deadline", "granted_by", "granted_at"]
    list_filter = ["kind", "campaign"]
    search_fields = ["operator__legal_name", "operator__siren"]
    list_select_related = ["operator", "campaign", "granted_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Payment)
class PaymentAdmin(BaseAdmin):
    list_display = ["reference", "claim", "amount", "paid_on", "recorded_by"]
    search_fields = ["reference", "claim__operator__legal_name", "claim__operator__siren"]
    list_select_related = ["claim__operator", "recorded_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
