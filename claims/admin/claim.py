"""The claims' back office: the list, the claim page (its buttons from the claim's table), deadline
extensions, downloads, exports and the campaigns' dashboard."""

from datetime import date

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from claims import dashboard, exports, payments, recoveries, selectors, services
from claims.admin.filters import AssignedToMeFilter, FlaggedFilter, OverdueFilter, RecoveryToProposeFilter
from claims.admin.inlines import ClaimEventInline, DocumentInline, RecoveryInline
from claims.breakdown import BreakdownView
from claims.dashboard import campaign_dashboard
from claims.enums import ClaimState
from claims.models import Claim, DeadlineExtension, Payment
from claims.workflow import TRANSITIONS
from common.admin import (
    AdminAction,
    BaseAdmin,
    NoAddOrDeleteMixin,
    ReadOnlyMixin,
    WorkflowAdmin,
    formatted,
    parse_amount,
    parse_date,
    person,
    report_error,
    text,
)
from common.downloads import attachment_response, with_download_headers
from common.exceptions import DomainError, NotAllowed
from common.formatting import count, euros, number, paris_date, paris_datetime, percent, vat_rate
from funding.calendar import paris_today
from funding.models import GrowthCheck
from operators.admin import fraud_signals_html
from operators.models import Operator
from operators.selectors import open_fraud_flags

STATE_COLOURS = {
    ClaimState.DRAFT: "#6a6a6a",
    ClaimState.SUBMITTED: "#0063cb",
    ClaimState.IN_REVIEW: "#7c3aed",
    ClaimState.CHANGES_REQUESTED: "#b34000",
    ClaimState.APPROVED: "#18753c",
    ClaimState.PAID: "#1f5130",
    ClaimState.REJECTED: "#ce0500",
    ClaimState.WITHDRAWN: "#6a6a6a",
    ClaimState.LAPSED: "#6a6a6a",
}


@admin.register(Claim)
class ClaimAdmin(NoAddOrDeleteMixin, WorkflowAdmin):
    workflow = TRANSITIONS
    workflow_argument = "claim"
    # The buttons of the claim page: the transitions fired by agents, with what each form sends.
    workflow_actions = {
        "take": AdminAction(services.claim_take, text=None),
        "request_changes": AdminAction(services.claim_request_changes, inputs={"due": ("due", parse_date)}),
        "approve": AdminAction(services.claim_approve),
        "reject": AdminAction(services.claim_reject),
        "mark_paid": AdminAction(
            services.claim_mark_paid,
            text=None,
            inputs={"reference": ("reference", text), "paid_on": ("paid_on", parse_date)},
        ),
        "reopen": AdminAction(services.claim_reopen),
    }

    # Fits a 1 280 px screen beside the filters: operator and SIREN share a cell, dates are short.
    list_display = [
        "id",
        "operator_name",
        "kind",
        "state_badge",
        "amount_display",
        "submitted_on",
        "deadline_display",
        "assigned_to_name",
        "flag",
    ]
    list_display_links = ["id", "operator_name"]
    list_filter = [
        "state",
        "kind",
        "campaign",
        "operator__kind",
        OverdueFilter,
        FlaggedFilter,
        AssignedToMeFilter,
        RecoveryToProposeFilter,
    ]
    search_fields = ["=id", "operator__legal_name", "=operator__siren", "=operator__referencings__number"]
    list_select_related = ["operator", "campaign", "assigned_to"]
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = None
    actions = ["export_csv", "export_xlsx", "create_payment_batch"]
    fieldsets = [
        (None, {"fields": ["operator", "fraud_signals", "campaign", "kind", "state", "assigned_to_name"]}),
        (
            "Montant",
            {
                "fields": [
                    "breakdown_table",
                    "schedule_code",
                    "funded_total_display",
                    "amount_display",
                    "vat_rate_display",
                    "vat_display",
                    "amount_to_pay_display",
                ]
            },
        ),
        (
            "Instruction",
            {
                "fields": [
                    "technical_doc_url",
                    "deployment_date",
                    "installation_date",
                    "technical_contact_name",
                    "technical_contact_email",
                    "filing_deadline",
                    "correction_message",
                    "correction_due",
                    "approved_by_name",
                    "decision_reason",
                    "payment_info",
                    "growth_info",
                ]
            },
        ),
        ("Dates (heure de Paris)", {"fields": ["created_on", "submitted_at_paris", "decided_on", "updated_on"]}),
    ]
    # Every field of the page is read-only: a claim changes only through its transitions and services.
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]
    inlines = [DocumentInline, RecoveryInline, ClaimEventInline]

    def get_search_results(self, request, queryset, search_term):
        """Claim number, operator name, exact SIREN or referencing number, without the DISTINCT over
        every column that Django adds for the one-to-many referencing join (1–2 s at 100 000 claims)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        operators = Operator.objects.filter(
            Q(legal_name__icontains=term) | Q(siren=term) | Q(referencings__number=term)
        ).values("pk")
        match = Q(operator__in=operators)
        if term.isdigit() and len(term) < 18:
            match |= Q(pk=int(term))
        return queryset.filter(match), False

    def get_queryset(self, request):
        flagged = GrowthCheck.objects.filter(campaign=OuterRef("campaign"), operator=OuterRef("operator"), flagged=True)
        return selectors.with_effective_deadline(super().get_queryset(request)).annotate(flagged=Exists(flagged))

    @admin.display(description="anomalie", boolean=False, ordering="flagged")
    def flag(self, obj):
        if not obj.flagged:
            return ""
        return format_html(
            '<span title="{}" style="color:#ce0500;font-weight:bold">⚠ croissance</span>', "Croissance atypique"
        )

    @admin.display(description="signaux de fraude")
    def fraud_signals(self, obj):
        # Issue 12: an open flag keeps the operator out of payments until an agent clears it.
        return fraud_signals_html(open_fraud_flags(operator=obj.operator))

    # --- list columns ---------------------------------------------------------------------

    assigned_to_name = person("assigned_to", "agent en charge")
    approved_by_name = person("approved_by", "approuvée par")

    @admin.display(description="opérateur (SIREN)", ordering="operator__legal_name")
    def operator_name(self, obj):
        return format_html("{}<br><small>SIREN {}</small>", obj.operator.legal_name, obj.operator.siren)

    submitted_on = formatted("submitted_at", "déposée le", paris_date, sortable=True)

    @admin.display(description="état", ordering="state")
    def state_badge(self, obj):
        return format_html(
            '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;white-space:nowrap">{}</span>',
            STATE_COLOURS.get(obj.state, "#6a6a6a"),
            obj.get_state_display(),
        )

    @admin.display(description="montant HT", ordering="amount")
    def amount_display(self, obj):
        return format_html('<span style="white-space:nowrap">{}</span>', euros(obj.amount))

    # --- read-only amounts and dates, in the product's one format (common.formatting) ------------

    funded_total_display = formatted("funded_total", "financement total HT", euros)

    @admin.display(description="taux de TVA")
    def vat_rate_display(self, obj):
        return vat_rate(obj.vat_rate) if obj.vat_rate is not None else "—"

    vat_display = formatted("vat", "TVA", euros)
    amount_to_pay_display = formatted("amount_to_pay", "montant à verser", euros)
    created_on = formatted("created_at", "créée le", paris_datetime)
    submitted_at_paris = formatted("submitted_at", "déposée le", paris_datetime)
    decided_on = formatted("decided_at", "décision le", paris_datetime)
    updated_on = formatted("updated_at", "modifiée le", paris_datetime)

    @admin.display(description="échéance", ordering="effective_deadline")
    def deadline_display(self, obj):
        deadline = obj.correction_due if obj.state == ClaimState.CHANGES_REQUESTED else obj.effective_deadline
        if deadline is None or obj.state not in (ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED):
            return f"{paris_date(obj.effective_deadline)}" if getattr(obj, "effective_deadline", None) else "—"
        days = (deadline - paris_today()).days
        colour = "#ce0500" if days < 0 else "#b34000" if days <= 7 else "inherit"
        left = f"dépassée de {-days} j" if days < 0 else f"J-{days}"
        return format_html('{} <span style="color:{}">({})</span>', f"{paris_date(deadline)}", colour, left)

    # --- change page fields -------------------------------------------------------------------

    @admin.display(description="détail du calcul")
    def breakdown_table(self, obj):
        if not obj.breakdown:
            return "Calculé au dépôt de la demande."
        breakdown = BreakdownView.from_dict(obj.breakdown, frozen=True)
        context = {"breakdown": breakdown, "caption": "Détail du calcul", "show_claim": True}
        return render_to_string("claims/_breakdown_table.html", context)

    @admin.display(description="date limite applicable")
    def filing_deadline(self, obj):
        return f"{paris_date(obj.effective_deadline)} à 23 h 59 (heure de Paris)"  # annotated by get_queryset

    @admin.display(description="paiement")
    def payment_info(self, obj):
        texts = []
        for payment in Payment.objects.filter(claim=obj).order_by("recorded_at"):
            text = (
                f"{euros(payment.amount)} versés (dont {euros(payment.amount_excl_vat)} HT et {euros(payment.vat)} "
                f"de TVA) le {paris_date(payment.paid_on)}, virement {payment.reference}"
            )
            if payment.returned_at:
                text += f" — retourné le {paris_date(payment.returned_at)} ({payment.return_reason})"
            texts.append(text)
        return format_html_join(mark_safe("<br>"), "{}", ((t,) for t in texts)) if texts else "—"

    @admin.display(description="contrôle de croissance des BAL")
    def growth_info(self, obj):
        check = GrowthCheck.objects.filter(campaign=obj.campaign_id, operator=obj.operator_id).first()
        if check is None:
            return "Pas de contrôle calculé pour cette campagne."
        growth = check.growth_label
        text = (
            f"{count(check.reference_count)} BAL à la référence → {count(check.closure_count)} à la clôture "
            f"(croissance {growth}, ensemble des opérateurs {percent(check.overall_growth)}, "
            f"seuil ×{number(check.factor, 2)})"
        )
        if check.flagged:
            return format_html(
                '<strong style="color:#ce0500">Anomalie signalée</strong> — {}. Vous pouvez demander les contrats '
                "avec les clients finaux par une demande de compléments.",
                text,
            )
        return text

    # --- transitions, downloads, dashboard ---------------------------------------------------

    def get_urls(self):
        extra = [
            path("<int:pk>/extend/", self.admin_site.admin_view(self.extend_view), name="claims_claim_extend"),
            path("<int:pk>/recovery/", self.admin_site.admin_view(self.recovery_view), name="claims_claim_recovery"),
            path(
                "document/<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="claims_document_download",
            ),
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="claims_dashboard"),
            path(
                "dashboard/<int:campaign_id>/<slug:chart>.csv",
                self.admin_site.admin_view(self.dashboard_csv_view),
                name="claims_dashboard_csv",
            ),
        ]
        return extra + super().get_urls()

    def workflow_queryset(self, request):
        return selectors.claims_visible_to(user=request.user)

    def workflow_done(self, obj):
        return f"Demande n° {obj.pk} : {obj.get_state_display()}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        claim = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if claim is not None:
            # The transitions' buttons come from the table (WorkflowAdmin); the other actions are
            # asked of the same abilities as the API and the portal.
            abilities = services.claim_abilities(user=request.user, claim=claim, guards=False)
            extra_context["can_extend"] = abilities["extend_deadline"]
            extra_context["can_open_recovery"] = abilities["open_recovery"]
            if claim.state in (ClaimState.APPROVED, ClaimState.PAID):
                extra_context["payment_panel"] = selectors.payment_panel(claim=claim)
            if abilities["open_recovery"]:
                extra_context["recovery_proposal"] = recoveries.recovery_proposal(claim=claim, user=request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def _back(self, pk):
        return redirect(reverse("admin:claims_claim_change", args=[pk]))

    def extend_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)
        try:
            extension = services.deadline_extension_grant(
                operator=claim.operator,
                campaign=claim.campaign,
                kind=claim.kind,
                new_deadline=parse_date(request.POST.get("new_deadline", ""), required=True),
                reason=request.POST.get("reason", ""),
                actor=request.user,
            )
        except DomainError as error:
            report_error(self, request, error)
        else:
            self.message_user(
                request, f"Date limite prolongée au {paris_date(extension.new_deadline)}.", messages.SUCCESS
            )
        return self._back(pk)

    def recovery_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)
        try:
            case = recoveries.recovery_open(
                claim=claim,
                amount=parse_amount(request.POST.get("amount", "")),
                grounds=request.POST.get("grounds", ""),
                actor=request.user,
            )
        except DomainError as error:
            report_error(self, request, error)
            return self._back(pk)
        self.message_user(request, f"Indu n° {case.pk} notifié à l'opérateur.", messages.SUCCESS)
        return redirect(reverse("admin:claims_recovery_change", args=[case.pk]))

    def download_view(self, request, pk):
        document = get_object_or_404(selectors.documents_visible_to(user=request.user), pk=pk)
        return attachment_response(document)

    def dashboard_view(self, request):
        campaigns = campaign_dashboard(user=request.user)
        # The charts of one campaign at a time (?campagne=<code>, default the newest): its budget
        # prices every operator at closure, too much to do for every campaign on each visit.
        chosen = next((c for c in campaigns if c["campaign"].code == request.GET.get("campagne")), None)
        chosen = chosen or (campaigns[0] if campaigns else None)
        charts = dashboard.campaign_charts(campaign=chosen["campaign"], figures=chosen) if chosen else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Tableau de bord des campagnes",
            "campaigns": campaigns,
            "chosen": chosen,
            "charts": charts,
            "charts_data": dashboard.charts_json(charts) if charts else None,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/claims/dashboard.html", context)

    def dashboard_csv_view(self, request, campaign_id, chart):
        if chart not in dashboard.CHART_NAMES:
            raise Http404
        figures = next((c for c in campaign_dashboard(user=request.user) if c["campaign"].pk == campaign_id), None)
        if figures is None:
            raise Http404
        charts = dashboard.campaign_charts(campaign=figures["campaign"], figures=figures)
        response = HttpResponse(dashboard.chart_csv(charts, chart), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{chart}-{figures["campaign"].code}.csv"'
        return with_download_headers(response)

    # --- exports ------------------------------------------------------------------------------

    @admin.action(description="Exporter la sélection en CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(exports.claims_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="demandes-{date.today():%Y%m%d}.csv"'
        return response

    @admin.action(description="Exporter la sélection en XLSX")
    def export_xlsx(self, request, queryset):
        response = HttpResponse(
            exports.claims_xlsx(queryset),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="demandes-{date.today():%Y%m%d}.xlsx"'
        return response

    @admin.action(description="Créer un lot de paiement (virement SEPA) — valideurs")
    def create_payment_batch(self, request, queryset):
        """Order the payment of the selection in one batch; a non-validator gets a 403, nothing written."""
        try:
            outcome = payments.payment_batch_create(actor=request.user, claims=queryset)
        except NotAllowed as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            report_error(self, request, error)
            return None
        batch = outcome.batch
        self.message_user(
            request,
            f"Lot n° {batch.number} créé : {batch.lines.count()} virement(s), {euros(batch.total)}. "
            "Téléchargez le fichier SEPA depuis la page du lot.",
            messages.SUCCESS,
        )
        for sentence in outcome.left_out:
            self.message_user(request, sentence, messages.WARNING)
        return redirect(reverse("admin:claims_paymentbatch_change", args=[batch.pk]))


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyMixin, BaseAdmin):
    list_display = ["operator", "campaign", "kind", "new_deadline", "granted_by", "granted_at"]
    list_filter = ["kind", "campaign"]
    search_fields = ["operator__legal_name", "=operator__siren"]
    list_select_related = ["operator", "campaign", "granted_by"]
    readonly_fields = ["operator", "campaign", "kind", "new_deadline", "reason", "granted_by_name", "granted_at"]
    granted_by_name = person("granted_by", "accordée par")
