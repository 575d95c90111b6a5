"""The agents' back office for payments: batches (SEPA orders), their lines, imported bank returns,
the payments recorded.

Every button calls claims.payments with `actor=request.user`; a batch's buttons come from its table
(claims.workflow.BATCH_TRANSITIONS); the services decide who may do what (a `valideur`), the views
only translate their errors.
"""

import hashlib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from claims import payments, selectors
from claims.enums import AttemptState
from claims.models import BankReturn, Payment, PaymentAttempt, PaymentBatch, PaymentBatchEvent
from claims.workflow import BATCH_TRANSITIONS
from common.admin import (
    AdminAction,
    BaseAdmin,
    HistoryInlineMixin,
    ReadOnlyInline,
    ReadOnlyMixin,
    WorkflowAdmin,
    formatted,
    person,
    report_error,
)
from common.downloads import with_download_headers
from common.exceptions import DomainError, InvalidInput, NotAllowed
from common.formatting import euros, masked_iban
from common.roles import Role, is_agent

RETURN_FILE_MAX_BYTES = 5 * 1024 * 1024


class PaymentBatchEventInline(HistoryInlineMixin, ReadOnlyInline):
    model = PaymentBatchEvent
    fields = ["seq", "at_paris", "actor_label", "action_label", "from_state", "to_state", "comment"]
    readonly_fields = fields
    ordering = ["seq"]
    verbose_name_plural = "historique du lot (journal d'audit)"


def report_import(modeladmin, request, report):
    """An import's report as admin messages: the summary, then each line that needs a look."""
    level = messages.SUCCESS if report.changed or report.already_imported else messages.INFO
    if report.errors or report.unmatched:
        level = messages.WARNING
    modeladmin.message_user(request, report.summary(), level)
    for sentence in report.paid + report.returned:
        modeladmin.message_user(request, sentence, messages.INFO)
    for sentence in report.unmatched:
        modeladmin.message_user(request, f"Non rapprochée — {sentence}", messages.WARNING)
    for sentence in report.errors:
        modeladmin.message_user(request, f"Anomalie — {sentence}", messages.WARNING)


def _uploaded_return(request):
    upload = request.FILES.get("return_file")
    if upload is None:
        raise InvalidInput("Choisissez le fichier de retour de la banque (pain.002 ou camt.054).")
    if upload.size > RETURN_FILE_MAX_BYTES:
        raise InvalidInput("Fichier trop volumineux pour un retour bancaire (5 Mo au plus).")
    return upload.read(), upload.name


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyMixin, WorkflowAdmin):
    workflow = BATCH_TRANSITIONS
    workflow_argument = "batch"
    workflow_path = "step"
    workflow_context = "steps"
    workflow_actions = {
        "send": AdminAction(payments.payment_batch_mark_sent, text=None),
        "cancel": AdminAction(payments.payment_batch_cancel, text="reason", text_field="reason"),
    }
    forbidden_is_403 = True
    list_display = ["number", "state", "created_at", "created_by", "line_count", "total_display", "message_id"]
    list_filter = ["state"]
    search_fields = ["=number", "message_id", "lines__end_to_end_id", "lines__claim__operator__legal_name"]
    list_select_related = ["created_by"]
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = [
        "number",
        "state",
        "created_by_name",
        "created_at",
        "execution_date",
        "message_id",
        "file_link",
        "fingerprint",
        "total_display",
        "cancel_reason",
    ]
    fields = readonly_fields
    inlines = [PaymentBatchEventInline]
    created_by_name = person("created_by", "créé par")

    def get_queryset(self, request):
        return selectors.batches_visible_to(user=request.user)

    @admin.display(description="virements")
    def line_count(self, obj):
        return obj.lines.count()

    total_display = formatted("total", "total viré", euros, sortable=True)

    @admin.display(description="fichier SEPA (pain.001.001.03)")
    def file_link(self, obj):
        url = reverse("admin:claims_paymentbatch_download", args=[obj.pk])
        return format_html('<a href="{}" id="batch-download">{}</a>', url, obj.file_name)

    @admin.display(description="empreinte SHA-256")
    def fingerprint(self, obj):
        return format_html("<code>{}</code>", obj.sha256)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", view(self.download_view), name="claims_paymentbatch_download"),
            path("import/", view(self.import_view), name="claims_paymentbatch_import"),
            path("create/", view(self.create_view), name="claims_paymentbatch_create"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_pay": is_agent(request.user, Role.VALIDATOR),
            "payable_count": selectors.payable_claims().count(),
        }
        return super().changelist_view(request, extra_context)

    def workflow_queryset(self, request):
        return selectors.batches_visible_to(user=request.user)

    def workflow_done(self, obj):
        return f"Lot n° {obj.number} : {obj.get_state_display()}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if batch is not None:
            extra_context.update(
                lines=[
                    {
                        "line": line,
                        "iban": masked_iban(line.iban),
                        "claim_url": reverse("admin:claims_claim_change", args=[line.claim_id]),
                        "offsets": list(line.offset_recoveries.order_by("pk")),
                    }
                    for line in batch.lines.select_related("claim__operator").order_by("pk")
                ],
                can_import=is_agent(request.user, Role.VALIDATOR),
                ordered=AttemptState.ORDERED,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def download_view(self, request, pk):
        """The stored file, byte for byte (checked against the SHA-256 recorded when it was made)."""
        batch = get_object_or_404(selectors.batches_visible_to(user=request.user), pk=pk)
        with batch.file.open("rb") as stored:
            content = stored.read()
        if hashlib.sha256(content).hexdigest() != batch.sha256:
            raise PermissionDenied("Le fichier stocké ne correspond plus à son empreinte : téléchargement refusé.")
        response = HttpResponse(content, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
        return with_download_headers(response)

    def import_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        back = request.POST.get("batch", "")
        target = (
            reverse("admin:claims_paymentbatch_change", args=[int(back)])
            if back.isdigit()
            else reverse("admin:claims_paymentbatch_changelist")
        )
        try:
            content, name = _uploaded_return(request)
            report = payments.bank_return_import(content=content, file_name=name, actor=request.user)
        except NotAllowed as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            report_error(self, request, error)
        else:
            report_import(self, request, report)
        return redirect(target)

    def create_view(self, request):
        """A batch of every payable claim (the changelist action does the same on a selection)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            outcome = payments.payment_batch_create(actor=request.user)
        except NotAllowed as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            report_error(self, request, error)
            return redirect(reverse("admin:claims_paymentbatch_changelist"))
        self.message_user(
            request,
            f"Lot n° {outcome.batch.number} créé : {outcome.batch.lines.count()} virement(s), "
            f"{euros(outcome.batch.total)}.",
            messages.SUCCESS,
        )
        for sentence in outcome.left_out:
            self.message_user(request, sentence, messages.WARNING)
        return redirect(reverse("admin:claims_paymentbatch_change", args=[outcome.batch.pk]))


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyMixin, BaseAdmin):
    list_display = ["end_to_end_id", "batch", "claim", "state", "transfer_amount", "offset", "return_reason"]
    list_filter = ["state"]
    search_fields = ["=end_to_end_id", "claim__operator__legal_name", "=claim__id"]
    list_select_related = ["batch", "claim__operator"]
    show_facets = admin.ShowFacets.NEVER


@admin.register(BankReturn)
class BankReturnAdmin(ReadOnlyMixin, BaseAdmin):
    list_display = ["imported_at", "kind", "message_id", "file_name", "imported_by"]
    list_filter = ["kind"]
    search_fields = ["message_id", "file_name", "=sha256"]
    readonly_fields = ["kind", "message_id", "file_name", "sha256", "imported_by_name", "imported_at", "report"]
    fields = readonly_fields
    imported_by_name = person("imported_by", "importé par")
    list_select_related = ["imported_by"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, BaseAdmin):
    list_display = ["reference", "claim", "amount", "paid_on", "recorded_by"]
    search_fields = ["reference", "claim__operator__legal_name", "=claim__operator__siren"]
    list_select_related = ["claim__operator", "recorded_by"]
    show_facets = admin.ShowFacets.NEVER
