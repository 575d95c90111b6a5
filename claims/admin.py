"""The agents' back office: review, transitions, payments, recovery cases, exports, dashboard.

Every button calls the same services as the API and the portal, with `actor=request.user`;
what a button may do is asked of `claim_transition_options`, never decided here.
"""

from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from claims import dashboard, exports, payments, recoveries, selectors, services
from claims.dashboard import campaign_dashboard
from claims.enums import ClaimState, RecoveryDecision, RecoveryState
from claims.models import Claim, ClaimEvent, DeadlineExtension, Document, Payment, Recovery
from common.admin import BaseAdmin, HistoryInlineMixin, person
from common.downloads import attachment_response, with_download_headers
from common.exceptions import DomainError, NotAllowed
from common.formatting import PARIS, count, euros, number, paris_datetime, percent, vat_rate
from common.roles import Role, is_agent
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
ACTIVE_STATES = (ClaimState.SUBMITTED, ClaimState.IN_REVIEW, ClaimState.CHANGES_REQUESTED, ClaimState.APPROVED)

# Admin buttons: the service to call and the extra inputs it takes (beyond the comment).
ADMIN_TRANSITIONS = {
    "take": (services.claim_take, ()),
    "request_changes": (services.claim_request_changes, ("due",)),
    "approve": (services.claim_approve, ()),
    "reject": (services.claim_reject, ()),
    "mark_paid": (services.claim_mark_paid, ("reference", "paid_on")),
    "reopen": (services.claim_reopen, ()),
}
NO_COMMENT = {"take", "mark_paid"}


class OverdueFilter(admin.SimpleListFilter):
    title = "retard"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "En retard"), ("soon", "Échéance dans 7 jours")]

    def queryset(self, request, queryset):
        today = paris_today()
        overdue = Q(state=ClaimState.DRAFT, effective_deadline__lt=today) | Q(
            state=ClaimState.CHANGES_REQUESTED, correction_due__lt=today
        )
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "soon":
            return queryset.filter(
                Q(state=ClaimState.DRAFT, effective_deadline__range=(today, today + timedelta(days=7)))
                | Q(state=ClaimState.CHANGES_REQUESTED, correction_due__range=(today, today + timedelta(days=7)))
            )
        return queryset


class FlaggedFilter(admin.SimpleListFilter):
    title = "anomalie de croissance"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Signalée"), ("no", "Non signalée")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(flagged=True)
        if self.value() == "no":
            return queryset.filter(flagged=False)
        return queryset


class RecoveryToProposeFilter(admin.SimpleListFilter):
    """The agents' task « proposer un indu » (claims.selectors.advances_to_recover)."""

    title = "indus"
    parameter_name = "indu"

    def lookups(self, request, model_admin):
        return [("a_proposer", "Indus à proposer (avance payée, solde non déposé)")]

    def queryset(self, request, queryset):
        if self.value() == "a_proposer":
            return queryset.filter(pk__in=selectors.advances_to_recover(user=request.user).values("pk"))
        return queryset


class AssignedToMeFilter(admin.SimpleListFilter):
    title = "agent en charge"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Moi"), ("nobody", "Personne")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    fields = ["kind", "version", "download", "content_type", "size", "fingerprint", "uploaded_by_name", "uploaded_on"]
    readonly_fields = fields
    ordering = ["kind", "-version"]
    uploaded_by_name = person("uploaded_by", "déposé par")

    @admin.display(description="déposé le (heure de Paris)")
    def uploaded_on(self, obj):
        return paris_datetime(obj.uploaded_at)

    @admin.display(description="empreinte SHA-256")
    def fingerprint(self, obj):
        return format_html('<code title="{}">{}…</code>', obj.sha256, obj.sha256[:16])

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description="fichier")
    def download(self, obj):
        url = reverse("admin:claims_document_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


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


@admin.register(Claim)
class ClaimAdmin(BaseAdmin):
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
    readonly_fields = [
        "operator",
        "fraud_signals",
        "campaign",
        "kind",
        "state",
        "assigned_to_name",
        "breakdown_table",
        "schedule_code",
        "funded_total_display",
        "amount_display",
        "vat_rate_display",
        "vat_display",
        "amount_to_pay_display",
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
        "created_on",
        "submitted_at_paris",
        "decided_on",
        "updated_on",
    ]
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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

    @admin.display(description="déposée le", ordering="submitted_at")
    def submitted_on(self, obj):
        return timezone.localtime(obj.submitted_at, PARIS).strftime("%d/%m/%Y") if obj.submitted_at else "—"

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

    @admin.display(description="financement total HT")
    def funded_total_display(self, obj):
        return euros(obj.funded_total)

    @admin.display(description="taux de TVA")
    def vat_rate_display(self, obj):
        return vat_rate(obj.vat_rate) if obj.vat_rate is not None else "—"

    @admin.display(description="TVA")
    def vat_display(self, obj):
        return euros(obj.vat)

    @admin.display(description="montant à verser")
    def amount_to_pay_display(self, obj):
        return euros(obj.amount_to_pay)

    @admin.display(description="créée le")
    def created_on(self, obj):
        return paris_datetime(obj.created_at)

    @admin.display(description="déposée le")
    def submitted_at_paris(self, obj):
        return paris_datetime(obj.submitted_at)

    @admin.display(description="décision le")
    def decided_on(self, obj):
        return paris_datetime(obj.decided_at)

    @admin.display(description="modifiée le")
    def updated_on(self, obj):
        return paris_datetime(obj.updated_at)

    @admin.display(description="échéance", ordering="effective_deadline")
    def deadline_display(self, obj):
        deadline = obj.correction_due if obj.state == ClaimState.CHANGES_REQUESTED else obj.effective_deadline
        if deadline is None or obj.state not in (ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED):
            return f"{obj.effective_deadline:%d/%m/%Y}" if getattr(obj, "effective_deadline", None) else "—"
        days = (deadline - paris_today()).days
        colour = "#ce0500" if days < 0 else "#b34000" if days <= 7 else "inherit"
        left = f"dépassée de {-days} j" if days < 0 else f"J-{days}"
        return format_html('{} <span style="color:{}">({})</span>', f"{deadline:%d/%m/%Y}", colour, left)

    # --- change page fields -------------------------------------------------------------------

    @admin.display(description="détail du calcul")
    def breakdown_table(self, obj):
        data = obj.breakdown
        if not data:
            return "Calculé au dépôt de la demande."
        sources = data.get("count_sources") or {}
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td style='text-align:right'>{}</td><td style='text-align:right'>{}</td>"
            "<td style='text-align:right'>{}</td><td>{}</td></tr>",
            (
                (
                    line["type"],
                    count(line["count"]),
                    euros(_dec(line["rate"])),
                    euros(_dec(line["amount"])),
                    _source_text(sources.get(line["type"])),
                )
                for line in data["lines"]
            ),
        )
        extra = [
            ("Forfait", euros(_dec(data["base"]))),
            ("Sous-total", euros(_dec(data["subtotal"]))),
            ("Plafond", euros(_dec(data["cap"])) + (" (appliqué)" if data["capped"] else "")),
            ("Financement total HT", euros(_dec(data["total"]))),
        ]
        granted = data.get("advance_granted", data.get("advance_paid"))
        if granted is not None:
            extra.append(("Avance accordée, déduite", euros(_dec(granted))))
        extra.append(("Montant de la demande HT", euros(_dec(data["amount"]))))
        if "amount_to_pay" in data:
            rate = _dec(data["vat_rate"])
            extra.append((f"TVA ({vat_rate(rate)})" if rate else "TVA (non applicable)",
                          euros(_dec(data["vat"]))))  # fmt: skip
            extra.append(("Montant à verser", euros(_dec(data["amount_to_pay"]))))
        tail = format_html_join(
            "", "<tr><th colspan='3'>{}</th><td style='text-align:right'>{}</td><td></td></tr>", extra
        )
        return format_html(
            "<table><thead><tr><th>Type</th><th>BAL</th><th>Tarif HT</th><th>Montant HT</th><th>Source</th></tr>"
            "</thead><tbody>{}{}</tbody></table><p>Barème {} — BAL comptées {}</p>",
            rows,
            tail,
            data["schedule"],
            data.get("counts_basis") or f"au {data.get('counts_as_of', '')}",
        )

    @admin.display(description="date limite applicable")
    def filing_deadline(self, obj):
        return f"{obj.effective_deadline:%d/%m/%Y} à 23 h 59 (heure de Paris)"  # annotated by get_queryset

    @admin.display(description="paiement")
    def payment_info(self, obj):
        texts = []
        for payment in Payment.objects.filter(claim=obj).order_by("recorded_at"):
            text = (
                f"{euros(payment.amount)} versés (dont {euros(payment.amount_excl_vat)} HT et {euros(payment.vat)} "
                f"de TVA) le {payment.paid_on:%d/%m/%Y}, virement {payment.reference}"
            )
            if payment.returned_at:
                text += f" — retourné le {timezone.localtime(payment.returned_at):%d/%m/%Y} ({payment.return_reason})"
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
            path(
                "<int:pk>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="claims_claim_transition",
            ),
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        claim = self.get_object(request, object_id)
        # Everything on a claim changes through its buttons (services), never through the form.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        if claim is not None:
            options = services.claim_transition_options(user=request.user, claim=claim)
            extra_context["transition_forms"] = [
                {
                    "name": transition.name,
                    "label": transition.label,
                    "url": reverse("admin:claims_claim_transition", args=[claim.pk, transition.name]),
                    "comment": transition.name not in NO_COMMENT,
                    "comment_required": transition.comment_required,
                    "inputs": ADMIN_TRANSITIONS[transition.name][1],
                    "missing": missing,
                    "today": paris_today().isoformat(),
                }
                for transition, missing in options
                if transition.name in ADMIN_TRANSITIONS
            ]
            extra_context["can_extend"] = is_agent(request.user, Role.VALIDATOR) and claim.state not in (
                ClaimState.WITHDRAWN,
                ClaimState.LAPSED,
            )
            extra_context["can_open_recovery"] = (
                is_agent(request.user, Role.INSTRUCTOR)
                and Payment.objects.settled().filter(claim__operator=claim.operator).exists()
            )
            if claim.state in (ClaimState.APPROVED, ClaimState.PAID):
                extra_context["payment_panel"] = selectors.payment_panel(claim=claim)
            if extra_context["can_open_recovery"]:
                extra_context["recovery_proposal"] = recoveries.recovery_proposal(claim=claim, user=request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def _back(self, pk):
        return redirect(reverse("admin:claims_claim_change", args=[pk]))

    def _report(self, request, error):
        report_error(self, request, error)

    def transition_view(self, request, pk, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)
        if name not in ADMIN_TRANSITIONS:
            raise Http404
        service, inputs = ADMIN_TRANSITIONS[name]
        kwargs = {"claim": claim, "actor": request.user}
        if name not in NO_COMMENT:
            kwargs["comment"] = request.POST.get("comment", "")
        try:
            for field in inputs:
                value = request.POST.get(field, "").strip()
                if field in ("due", "paid_on"):
                    kwargs[field] = _parse_date(value) if value else None
                else:
                    kwargs[field] = value
            updated = service(**kwargs)
        except DomainError as error:
            self._report(request, error)
        else:
            self.message_user(
                request, f"Demande n° {updated.pk} : {updated.get_state_display()}.", level=messages.SUCCESS
            )
        return self._back(pk)

    def extend_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)
        try:
            extension = services.deadline_extension_grant(
                operator=claim.operator,
                campaign=claim.campaign,
                kind=claim.kind,
                new_deadline=_parse_date(request.POST.get("new_deadline", "")),
                reason=request.POST.get("reason", ""),
                actor=request.user,
            )
        except DomainError as error:
            self._report(request, error)
        else:
            self.message_user(request, f"Date limite prolongée au {extension.new_deadline:%d/%m/%Y}.", messages.SUCCESS)
        return self._back(pk)

    def recovery_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        claim = get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)
        try:
            case = recoveries.recovery_open(
                claim=claim,
                amount=_parse_amount(request.POST.get("amount", "")),
                grounds=request.POST.get("grounds", ""),
                actor=request.user,
            )
        except DomainError as error:
            self._report(request, error)
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
            self._report(request, error)
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


def report_error(modeladmin, request, error):
    """A domain error as one French admin message (with what is missing, when listed)."""
    details = [str(m) for messages_ in error.errors.values() for m in messages_ if str(m) not in error.message]
    modeladmin.message_user(request, " ".join([error.message, *details]), level=messages.ERROR)


def _source_text(source):
    """Which source gave a count, its date, and what it prevailed over (agents must see why)."""
    if not source:
        return "—"
    text = source.get("label", "")
    if source.get("as_of"):
        text += f" au {date.fromisoformat(source['as_of']):%d/%m/%Y}"
    if source.get("detail"):
        text += f" — {source['detail']}"
    for other in source.get("overridden", []):
        text += f" ; prévaut sur : {other['label']} ({other['count']})"
    return text


def _dec(value):
    from decimal import Decimal

    return Decimal(value)


def _parse_date(value):
    from common.exceptions import InvalidInput

    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Date invalide : « {value} » (format attendu AAAA-MM-JJ).") from None


def _parse_amount(value):
    from decimal import Decimal, InvalidOperation

    from common.exceptions import InvalidInput

    try:
        amount = Decimal(str(value).replace(" ", "").replace("\u202f", "").replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"Montant invalide : « {value} ».") from None
    if not amount.is_finite():
        raise InvalidInput(f"Montant invalide : « {value} ».")
    return amount


# --- Recovery cases -----------------------------------------------------------------------------

RECOVERY_STEPS = {
    # step: (label, role, states it starts from)
    "observations": ("Enregistrer les observations de l'opérateur", Role.INSTRUCTOR, (RecoveryState.NOTIFIED,)),
    "decide": ("Rendre la décision motivée", Role.INSTRUCTOR, (RecoveryState.NOTIFIED,)),
    "order": ("Émettre l'ordre de reversement", Role.VALIDATOR, (RecoveryState.DECIDED,)),
    "settle": ("Constater le recouvrement ou la compensation", Role.VALIDATOR, (RecoveryState.ORDER_ISSUED,)),
    "cancel": (
        "Annuler l'indu",
        Role.VALIDATOR,
        (RecoveryState.NOTIFIED, RecoveryState.DECIDED, RecoveryState.ORDER_ISSUED),
    ),
}


@admin.register(Recovery)
class RecoveryAdmin(BaseAdmin):
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

    @admin.display(description="montant notifié", ordering="amount_notified")
    def notified(self, obj):
        return euros(obj.amount_notified)

    @admin.display(description="montant dû", ordering="amount_due")
    def due(self, obj):
        return euros(obj.amount_due)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
            '<li>{} : <a href="{}">{}</a> — {}, {}</li>',
            (
                (
                    d.get_kind_display(),
                    reverse("admin:claims_document_download", args=[d.pk]),
                    d.original_name,
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

    def get_urls(self):
        return [
            path("<int:pk>/step/<str:step>/", self.admin_site.admin_view(self.step_view), name="claims_recovery_step"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        if case is not None:
            extra_context["recovery_steps"] = [
                {"step": step, "label": label, "url": reverse("admin:claims_recovery_step", args=[case.pk, step])}
                for step, (label, role, states) in RECOVERY_STEPS.items()
                if case.state in states and is_agent(request.user, role)
            ]
            extra_context["decisions"] = RecoveryDecision.choices
            extra_context["offset_payments"] = (
                Payment.objects.settled()
                .filter(claim__operator=case.claim.operator)
                .exclude(pk__in=case.payments.values("pk"))
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def step_view(self, request, pk, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (is_agent(request.user, Role.INSTRUCTOR) or is_agent(request.user, Role.VALIDATOR)):
            raise Http404
        case = get_object_or_404(Recovery.objects.select_related("claim"), pk=pk)
        data = request.POST
        try:
            if step == "observations":
                recoveries.recovery_record_observations(
                    recovery=case, observations=data.get("observations", ""), actor=request.user
                )
            elif step == "decide":
                amount = data.get("amount", "").strip()
                recoveries.recovery_decide(
                    recovery=case,
                    decision=_decision(data.get("decision", "")),
                    reason=data.get("reason", ""),
                    amount=_parse_amount(amount) if amount else None,
                    actor=request.user,
                )
            elif step == "order":
                recoveries.recovery_issue_order(recovery=case, reference=data.get("reference", ""), actor=request.user)
            elif step == "settle":
                offset = data.get("offset_payment", "").strip()
                recoveries.recovery_settle(
                    recovery=case,
                    note=data.get("note", ""),
                    offset_payment=Payment.objects.filter(pk=offset).first() if offset.isdigit() else None,
                    actor=request.user,
                )
            elif step == "cancel":
                recoveries.recovery_cancel(recovery=case, reason=data.get("reason", ""), actor=request.user)
            else:
                raise Http404
        except DomainError as error:
            report_error(self, request, error)
        else:
            case.refresh_from_db()
            self.message_user(request, f"Indu n° {case.pk} : {case.get_state_display()}.", messages.SUCCESS)
        return redirect(reverse("admin:claims_recovery_change", args=[pk]))


def _decision(value):
    from common.exceptions import InvalidInput

    try:
        return RecoveryDecision(value)
    except ValueError:
        raise InvalidInput("Choisissez une décision : confirmé, réduit ou remise totale.") from None


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(BaseAdmin):
    list_display = ["operator", "campaign", "kind", "new_deadline", "granted_by", "granted_at"]
    list_filter = ["kind", "campaign"]
    search_fields = ["operator__legal_name", "=operator__siren"]
    list_select_related = ["operator", "campaign", "granted_by"]
    readonly_fields = ["operator", "campaign", "kind", "new_deadline", "reason", "granted_by_name", "granted_at"]
    granted_by_name = person("granted_by", "accordée par")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(BaseAdmin):
    list_display = ["reference", "claim", "amount", "paid_on", "recorded_by"]
    search_fields = ["reference", "claim__operator__legal_name", "=claim__operator__siren"]
    list_select_related = ["claim__operator", "recorded_by"]
    show_facets = admin.ShowFacets.NEVER

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Payments: batches, their lines and the bank's returns (claims/admin_payments.py).
from claims import admin_payments  # noqa: E402,F401
