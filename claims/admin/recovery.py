"""Recovery cases (indus) in the back office: the procedure's buttons come from its table
(claims.recoveries.RECOVERY_TRANSITIONS) and call its services."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from claims import recoveries, selectors
from claims.enums import RecoveryDecision
from claims.models import Payment, Recovery
from claims.recoveries import RECOVERY_TRANSITIONS
from common.admin import AdminAction, NoAddOrDeleteMixin, WorkflowAdmin, formatted, parse_amount, person
from common.admin_scanning import scan_column
from common.exceptions import InvalidInput
from common.formatting import euros, paris_datetime


def parse_decision(value):
    try:
        return RecoveryDecision(value)
    except ValueError:
        raise InvalidInput("Choisissez une décision : confirmé, réduit ou remise totale.") from None


def optional_amount(value):
    value = (value or "").strip()
    return parse_amount(value) if value else None


def settled_payment(value):
    value = (value or "").strip()
    return Payment.objects.filter(pk=value).first() if value.isdigit() else None


@admin.register(Recovery)
class RecoveryAdmin(NoAddOrDeleteMixin, WorkflowAdmin):
    workflow = RECOVERY_TRANSITIONS
    workflow_argument = "recovery"
    workflow_path = "step"
    workflow_context = "recovery_steps"
    # The procedure's buttons (the « settle » form also offsets, the « decide » one also waives).
    workflow_actions = {
        "observations": AdminAction(
            recoveries.recovery_record_observations, text="observations", text_field="observations"
        ),
        "decide": AdminAction(
            recoveries.recovery_decide,
            text="reason",
            text_field="reason",
            inputs={"decision": ("decision", parse_decision), "amount": ("amount", optional_amount)},
        ),
        "order": AdminAction(recoveries.recovery_issue_order, text="reference", text_field="reference"),
        "settle": AdminAction(
            recoveries.recovery_settle,
            text="note",
            text_field="note",
            inputs={"offset_payment": ("offset_payment", settled_payment)},
        ),
        "cancel": AdminAction(recoveries.recovery_cancel, text="reason", text_field="reason"),
    }
    list_display = ["id", "operator_name", "claim_link", "state", "notified", "due", "observations_due"]
    list_filter = ["state", "decision", "claim__campaign"]
    search_fields = ["=id", "claim__operator__legal_name", "=claim__operator__siren", "order_reference"]
    list_select_related = ["claim__operator"]
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = [
        "claim_link",
        "state",
        "notified",
        "grounds",
        "payments_list",
        "observations_due",
        "observations",
        "observations_received_at",
        "documents_list",
        "decision",
        "decision_reason",
        "due",
        "decided_by_name",
        "decided_at",
        "order_reference",
        "order_issued_at",
        "offset_payment",
        "settled_at",
        "settlement_note",
        "opened_by_name",
        "opened_at",
    ]
    fields = readonly_fields
    decided_by_name = person("decided_by", "décidé par")
    opened_by_name = person("opened_by", "notifié par")
    notified = formatted("amount_notified", "montant notifié", euros, sortable=True)
    due = formatted("amount_due", "montant dû", euros, sortable=True)

    @admin.display(description="opérateur")
    def operator_name(self, obj):
        return obj.claim.operator.legal_name

    @admin.display(description="demande")
    def claim_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[obj.claim_id]), obj.claim)

    @admin.display(description="courriers et pièces jointes aux observations")
    def documents_list(self, obj):
        documents = obj.documents.select_related("uploaded_by").order_by("uploaded_at", "pk")
        items = format_html_join(
            "",
            "<li>{} : {} — {}, {}</li>",
            (
                (
                    d.get_kind_display(),
                    format_html(
                        '<a href="{}">{}</a>', reverse("admin:claims_document_download", args=[d.pk]), d.original_name
                    )
                    if d.is_usable  # being scanned or quarantined: never served (common.scanning)
                    else format_html("{} ({})", d.original_name, scan_column(self, d)),
                    d.uploaded_by.username,
                    paris_datetime(d.uploaded_at),
                )
                for d in documents
            ),
        )
        return format_html("<ul>{}</ul>", items) if items else "—"

    @admin.display(description="paiements concernés")
    def payments_list(self, obj):
        return ", ".join(f"{p.reference} ({euros(p.amount)})" for p in obj.payments.all()) or "—"

    def workflow_queryset(self, request):
        return selectors.recoveries_visible_to(user=request.user)

    def workflow_done(self, obj):
        return f"Indu n° {obj.pk} : {obj.get_state_display()}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if case is not None:
            extra_context["decisions"] = RecoveryDecision.choices
            extra_context["offset_payments"] = (
                Payment.objects.settled()
                .filter(claim__operator=case.claim.operator)
                .exclude(pk__in=case.payments.values("pk"))
            )
        return super().change_view(request, object_id, form_url, extra_context)
