"""Read-only inlines of a claim's page: its documents, recovery cases and history."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from claims.models import ClaimEvent, Document, Recovery
from common.admin import HistoryInlineMixin, ReadOnlyInline, formatted, person
from common.admin_scanning import download_column, scan_column
from common.formatting import paris_datetime


class ClaimEventInline(HistoryInlineMixin, ReadOnlyInline):
    model = ClaimEvent
    fields = ["seq", "at_paris", "actor_label", "action_label", "states", "comment"]
    readonly_fields = fields
    ordering = ["seq"]
    verbose_name_plural = "historique (journal d'audit)"

    @admin.display(description="état")
    def states(self, obj):
        if obj.from_state == obj.to_state:
            return obj.get_to_state_display()
        return f"{obj.get_from_state_display()} → {obj.get_to_state_display()}"


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = [
        "kind", "version", "download", "scan", "content_type", "size", "fingerprint", "uploaded_by_name", "uploaded_on",
    ]  # fmt: skip
    readonly_fields = fields
    ordering = ["kind", "-version"]
    uploaded_by_name = person("uploaded_by", "déposé par")
    scan = scan_column

    uploaded_on = formatted("uploaded_at", "déposé le (heure de Paris)", paris_datetime)

    @admin.display(description="empreinte SHA-256")
    def fingerprint(self, obj):
        return format_html('<code title="{}">{}…</code>', obj.sha256, obj.sha256[:16])

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    download = download_column("admin:claims_document_download")


class RecoveryInline(ReadOnlyInline):
    model = Recovery
    fields = ["link", "state", "amount_notified", "amount_due", "observations_due", "order_reference"]
    readonly_fields = fields
    verbose_name_plural = "indus"

    @admin.display(description="indu")
    def link(self, obj):
        return format_html(
            '<a href="{}">Indu n° {}</a>', reverse("admin:claims_recovery_change", args=[obj.pk]), obj.pk
        )
