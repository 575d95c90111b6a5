from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin import AdminAction, BaseAdmin, HistoryInlineMixin, NoAddOrDeleteMixin, ReadOnlyInline, WorkflowAdmin
from common.admin_scanning import download_column, scan_column
from common.downloads import attachment_response
from common.exceptions import DomainError
from common.formatting import paris_date
from common.roles import is_any_agent
from operators import selectors as operator_selectors
from operators import services as operator_services
from operators.enums import OPTIONAL_ENROLMENT_PROOFS, ContractStatus, EnrolmentDocumentKind, OperatorKind
from operators.models import (
    BankDetailsChange,
    BankDetailsEvent,
    ContractV2,
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
    FraudFlag,
    MailDomain,
    Membership,
    Operator,
    Referencing,
)


class MailDomainInline(admin.TabularInline):
    model = MailDomain
    extra = 0


class ContractInline(admin.TabularInline):
    model = ContractV2
    extra = 0
    fields = ["status", "signed_on", "countersigned_on", "terminated_on", "signed_document", "countersigned_by"]
    readonly_fields = ["signed_document", "countersigned_by"]


class ReferencingInline(admin.TabularInline):
    model = Referencing
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


def fraud_signals_html(flags):
    """The open fraud flags as a red warning with a link to each (operator, enrolment and claim pages)."""
    flags = list(flags)
    if not flags:
        return "Aucun signal ouvert."
    rows = format_html_join(
        mark_safe("<br>"),
        '<a href="{}">{}</a> : {}',
        (
            (reverse("admin:operators_fraudflag_change", args=[flag.pk]), flag.get_kind_display(), flag.detail)
            for flag in flags
        ),
    )
    return format_html(
        '<div style="color:#ce0500;font-weight:bold">⚠ Paiements suspendus jusqu\'à la levée motivée de ces '
        "signaux :</div>{}",
        rows,
    )


def warn_fraud(model_admin, request, flags):
    warning = operator_selectors.fraud_warning(flags=flags)
    if warning:
        model_admin.message_user(request, warning.splitlines()[0], messages.WARNING)


@admin.register(Operator)
class OperatorAdmin(BaseAdmin):
    list_display = [
        "legal_name",
        "siren",
        "kind",
        "provider",
        "referencing_number",
        "contract_status",
        "vat_liable",
        "growth_flag",
    ]
    list_filter = ["kind", "vat_liable"]
    search_fields = ["legal_name", "siren", "siret", "referencings__number", "domains__name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    inlines = [ReferencingInline, ContractInline, MailDomainInline, MembershipInline]
    # IBAN and BIC change only through a validated enrolment or bank-details change (services): they are
    # the account paid (operators.selectors.validated_bank_details).
    readonly_fields = ["iban", "bic", "bank_details_changes", "fraud_signals", "contract_status", "growth_figures"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("referencings", "contracts", "growth_checks")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        operator = self.get_object(request, object_id)
        if operator is not None and request.method == "GET":
            warn_fraud(self, request, operator_selectors.open_fraud_flags(operator=operator))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="signaux de fraude")
    def fraud_signals(self, obj):
        if obj.pk is None:
            return "—"
        return fraud_signals_html(operator_selectors.open_fraud_flags(operator=obj))

    @admin.display(description="changements de coordonnées bancaires")
    def bank_details_changes(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:operators_bankdetailschange_changelist") + f"?operator__id__exact={obj.pk}"
        pending = operator_selectors.pending_bank_details_change(operator=obj)
        if pending is None:
            return format_html('<a href="{}">Historique des demandes</a> — aucune en attente.', url)
        pending_url = reverse("admin:operators_bankdetailschange_change", args=[pending.pk])
        return format_html(
            '<a href="{}">Demande n° {} en attente de validation</a> (IBAN se terminant par {}) — '
            '<a href="{}">historique</a>. Les paiements restent sur les coordonnées ci-dessus.',
            pending_url,
            pending.pk,
            pending.iban[-4:],
            url,
        )

    @admin.display(description="contrat v2 (aujourd'hui)")
    def contract_status(self, obj):
        if obj.pk is None:
            return "—"
        problems = operator_selectors.contract_v2_problems(operator=obj, day=timezone.localdate())
        if problems:
            return " ".join(problems)
        return "Contresigné par l'ANS, en vigueur."

    @admin.display(description="numéro de référencement")
    def referencing_number(self, obj):
        return obj.referencing_number or "—"

    @admin.display(description="croissance anormale", boolean=True)
    def growth_flag(self, obj):
        # Growth checks are computed by funding (check_growth, or the campaign admin action).
        return any(check.flagged for check in obj.growth_checks.all())

    @admin.display(description="croissance des BAL (Annuaire)")
    def growth_figures(self, obj):
        checks = obj.growth_checks.select_related("campaign", "reference_snapshot", "closure_snapshot")
        if not checks:
            return "Aucun contrôle de croissance calculé."
        return format_html_join(
            mark_safe("<br>"),
            "{} : {} BAL au {} → {} BAL au {} ({}, ensemble ×{}) — {}",
            (
                (
                    check.campaign,
                    check.reference_count,
                    f"{paris_date(check.reference_snapshot.as_of)}",
                    check.closure_count,
                    f"{paris_date(check.closure_snapshot.as_of)}",
                    f"×{check.growth}" if check.growth is not None else "nouvel entrant, absent à la référence",
                    check.overall_growth,
                    "⚠ ANOMALIE : demander les contrats avec les clients finaux" if check.flagged else "pas d'anomalie",
                )
                for check in checks
            ),
        )


@admin.register(MailDomain)
class MailDomainAdmin(BaseAdmin):
    list_display = ["name", "operator"]
    search_fields = ["name", "operator__legal_name", "operator__siren"]
    list_select_related = ["operator"]
    autocomplete_fields = ["operator"]


class AwaitingCountersignatureFilter(admin.SimpleListFilter):
    title = "à faire"
    parameter_name = "a_faire"

    def lookups(self, request, model_admin):
        return [("contresigner", "À contresigner")]

    def queryset(self, request, queryset):
        if self.value() == "contresigner":
            awaiting = operator_selectors.contracts_awaiting_countersignature()
            return queryset.filter(pk__in=awaiting.values("pk"))
        return queryset


class CountersignForm(forms.Form):
    countersigned_on = forms.DateField(
        label="Date de contre-signature par l'ANS",
        widget=AdminDateWidget,
        help_text="Ni antérieure à la signature de l'opérateur, ni dans le futur.",
    )


@admin.register(ContractV2)
class ContractV2Admin(BaseAdmin):
    list_display = ["operator", "status", "signed_on", "countersigned_on", "terminated_on", "countersign_link"]
    list_filter = [AwaitingCountersignatureFilter, "status"]
    search_fields = ["operator__legal_name", "=operator__siren"]
    list_select_related = ["operator"]
    autocomplete_fields = ["operator"]
    # The countersignature goes through operators.services.contract_v2_countersign (countersign_view).
    readonly_fields = ["signed_document", "signed_document_sha256", "countersigned_by", "countersigned_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == ContractStatus.SIGNED_BY_OPERATOR:
            return [*self.readonly_fields, "countersigned_on"]
        return self.readonly_fields

    def get_urls(self):
        return [
            path(
                "<int:pk>/contresigner/",
                self.admin_site.admin_view(self.countersign_view),
                name="operators_contractv2_countersign",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        awaiting = operator_selectors.contracts_awaiting_countersignature().count()
        url = f"{reverse('admin:operators_contractv2_changelist')}?a_faire=contresigner"
        extra_context = {
            **(extra_context or {}),
            "title": f"Contrats opérateur MSSanté v2 — {awaiting} à contresigner",
            "subtitle": format_html('<a href="{}">Voir les contrats à contresigner</a>', url) if awaiting else "",
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="action")
    def countersign_link(self, obj):
        if obj.status != ContractStatus.SIGNED_BY_OPERATOR or obj.terminated_on is not None:
            return "—"
        url = reverse("admin:operators_contractv2_countersign", args=[obj.pk])
        return format_html('<a class="button" href="{}">Enregistrer la contre-signature</a>', url)

    def countersign_view(self, request, pk):
        contract = get_object_or_404(ContractV2.objects.select_related("operator"), pk=pk)
        if not is_any_agent(request.user):
            self.message_user(request, "Seuls les instructeurs et valideurs enregistrent une contre-signature.",
                              messages.ERROR)  # fmt: skip
            return redirect("admin:operators_contractv2_changelist")
        form = CountersignForm(request.POST or None, initial={"countersigned_on": timezone.localdate()})
        if request.method == "POST" and form.is_valid():
            try:
                operator_services.contract_v2_countersign(
                    contract=contract, actor=request.user, countersigned_on=form.cleaned_data["countersigned_on"]
                )
            except DomainError as error:
                for message in error.errors.get("countersigned_on", []):
                    form.add_error("countersigned_on", message)
                if not error.errors:
                    self.message_user(request, error.message, messages.ERROR)
                    return redirect("admin:operators_contractv2_changelist")
            else:
                self.message_user(
                    request,
                    f"Contre-signature de l'ANS enregistrée pour {contract.operator.legal_name} "
                    f"au {paris_date(form.cleaned_data['countersigned_on'])}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(f"{reverse('admin:operators_contractv2_changelist')}?a_faire=contresigner")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Enregistrer la contre-signature de l'ANS — {contract.operator.legal_name}",
            "contract": contract,
            "form": form,
            "media": self.media + form.media,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/operators/contractv2/countersign.html", context)


@admin.register(Referencing)
class ReferencingAdmin(BaseAdmin):
    list_display = ["number", "operator", "status", "granted_on"]
    list_filter = ["status"]
    search_fields = ["number", "operator__legal_name", "operator__siren"]
    list_select_related = ["operator"]
    autocomplete_fields = ["operator"]


@admin.register(Membership)
class MembershipAdmin(BaseAdmin):
    list_display = ["user", "operator", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["user__username", "user__email", "operator__legal_name", "operator__siren"]
    list_select_related = ["user", "operator"]
    autocomplete_fields = ["user", "operator"]


# --- Enrolment (instructed by agents; every decision goes through operators.services) ------------


class EnrolmentDocumentInline(ReadOnlyInline):
    model = EnrolmentDocument
    fields = ["kind", "version", "download", "scan", "content_type", "size", "sha256", "uploaded_at"]
    readonly_fields = fields
    ordering = ["kind", "-version"]
    verbose_name_plural = "pièces justificatives"
    scan = scan_column
    download = download_column("admin:operators_enrolmentdocument_download")


class EnrolmentEventInline(HistoryInlineMixin, ReadOnlyInline):
    model = EnrolmentEvent
    fields = ["seq", "at_paris", "actor_label", "action_label", "from_state", "to_state", "comment"]
    readonly_fields = fields
    ordering = ["seq"]
    verbose_name_plural = "historique (journal d'audit)"


# Decision buttons: service, name of its message argument, whether the message is required.
@admin.register(Enrolment)
class EnrolmentAdmin(NoAddOrDeleteMixin, WorkflowAdmin):
    workflow = operator_services.ENROLMENT_TRANSITIONS
    workflow_argument = "enrolment"
    workflow_path = "decision"
    workflow_context = "decision_forms"
    # The agents' decisions (the representative resubmits from the portal), the text typed in « message ».
    workflow_actions = {
        "validate": AdminAction(operator_services.enrolment_validate, text="comment", text_field="message"),
        "request_changes": AdminAction(
            operator_services.enrolment_request_changes, text="message", text_field="message"
        ),
        "reject": AdminAction(operator_services.enrolment_reject, text="reason", text_field="message"),
    }
    list_display = ["id", "legal_name", "siren", "kind", "state", "user", "submitted_at", "operator"]
    list_display_links = ["id", "legal_name"]
    list_filter = ["state", "kind", "company_check"]
    search_fields = ["=id", "legal_name", "=siren", "=referencing_number", "user__username", "user__email"]
    list_select_related = ["user", "operator"]
    actions = ["validate_selected"]
    fieldsets = [
        ("Déclaration", {"fields": ["user", "legal_name", "siren", "siret", "kind", "contact_email", "vat_liable"]}),
        (
            "Opérateur prestataire (acheteur)",
            {"fields": ["provider_siren", "provider_referencing_number", "declared_provider", "provider"]},
        ),
        ("Référencement et coordonnées bancaires", {"fields": ["referencing_number", "iban", "bic"]}),
        (
            "Contrôles",
            {
                "fields": [
                    "existing_operator",
                    "company_check",
                    "company_name",
                    "company_checked_at",
                    "required_proofs",
                    "fraud_signals",
                ]
            },
        ),
        (
            "Instruction",
            {"fields": ["state", "agent_message", "decision_reason", "decided_by", "decided_at", "operator"]},
        ),
        ("Dates", {"fields": ["created_at", "submitted_at", "updated_at"]}),
    ]
    readonly_fields = [
        "user",
        "legal_name",
        "siren",
        "siret",
        "kind",
        "provider_siren",
        "provider_referencing_number",
        "declared_provider",
        "provider",
        "contact_email",
        "vat_liable",
        "referencing_number",
        "iban",
        "bic",
        "existing_operator",
        "company_check",
        "company_name",
        "company_checked_at",
        "required_proofs",
        "fraud_signals",
        "state",
        "agent_message",
        "decision_reason",
        "decided_by",
        "decided_at",
        "operator",
        "created_at",
        "submitted_at",
        "updated_at",
    ]
    inlines = [EnrolmentDocumentInline, EnrolmentEventInline]
    autocomplete_fields = ["provider"]

    def _may_link_provider(self, request, obj):
        return (
            obj is not None
            and obj.kind == OperatorKind.BUYER
            and operator_services.enrolment_abilities(user=request.user, enrolment=obj)["validate"]
        )

    def get_readonly_fields(self, request, obj=None):
        # The only field an agent edits here: the link to the buyer's provider, saved by a service.
        if self._may_link_provider(request, obj):
            return [name for name in self.readonly_fields if name != "provider"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if "provider" not in form.changed_data:
            return
        try:
            operator_services.enrolment_link_provider(
                enrolment=obj, actor=request.user, provider=form.cleaned_data["provider"]
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            linked = form.cleaned_data["provider"]
            message = f"Opérateur prestataire rattaché : {linked}." if linked else "Opérateur prestataire retiré."
            self.message_user(request, message, messages.SUCCESS)

    def response_change(self, request, obj):
        # The outcome was reported by save_model; stay on the enrolment to validate it.
        return redirect("admin:operators_enrolment_change", obj.pk)

    @admin.display(description="prestataire correspondant à la déclaration")
    def declared_provider(self, obj):
        if obj.kind != OperatorKind.BUYER:
            return "Sans objet : opérateur développeur."
        found = operator_services.declared_provider_of(obj, day=timezone.localdate())
        if found is None:
            return (
                "Aucun opérateur développeur ne porte ce SIREN avec ce numéro de référencement valide : "
                "rattachez le prestataire ci-dessous avant de valider."
            )
        url = reverse("admin:operators_operator_change", args=[found.pk])
        return format_html('<a href="{}">{}</a> — rattaché automatiquement à la validation.', url, found)

    @admin.display(description="pièces requises")
    def required_proofs(self, obj):
        latest = operator_selectors.latest_enrolment_documents(enrolment=obj)
        kinds = [*operator_services.required_enrolment_proof_kinds(vat_liable=obj.vat_liable)]

        def state(kind, absent):  # only a clean proof counts (common.scanning)
            if kind not in latest:
                return absent
            return "fournie" if latest[kind].is_usable else f"fournie, {latest[kind].scan_label}"

        rows = [(EnrolmentDocumentKind(k).label, state(k, "MANQUANTE")) for k in kinds]
        rows += [
            (f"{EnrolmentDocumentKind(k).label} (facultatif)", state(k, "non fournie"))
            for k in OPTIONAL_ENROLMENT_PROOFS
        ]
        return format_html_join(mark_safe("<br>"), "{} : {}", rows)

    @admin.display(description="signaux de fraude")
    def fraud_signals(self, obj):
        return fraud_signals_html(operator_selectors.open_fraud_flags_of_enrolment(enrolment=obj))

    @admin.display(description="opérateur existant avec ce SIREN")
    def existing_operator(self, obj):
        operator = Operator.objects.filter(siren=obj.siren).first()
        if operator is None:
            return "Aucun : la validation créera l'opérateur."
        members = operator.memberships.filter(is_active=True).count()
        url = reverse("admin:operators_operator_change", args=[operator.pk])
        return format_html('<a href="{}">{}</a> — {} utilisateur(s) actif(s)', url, operator, members)

    def get_urls(self):
        return [
            path(
                "document/<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="operators_enrolmentdocument_download",
            ),
            *super().get_urls(),
        ]

    def workflow_queryset(self, request):
        return Enrolment.objects.all()

    def workflow_done(self, obj):
        return f"Demande d'enrôlement n° {obj.pk} : {obj.get_state_display()}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        enrolment = self.get_object(request, object_id)
        # Saving only links a buyer's provider (save_model), hence shown only when that is possible.
        extra_context = {**(extra_context or {}), "show_save": self._may_link_provider(request, enrolment)}
        if enrolment is not None and request.method == "GET":
            warn_fraud(self, request, operator_selectors.open_fraud_flags_of_enrolment(enrolment=enrolment))
        return super().change_view(request, object_id, form_url, extra_context)

    def download_view(self, request, pk):
        document = get_object_or_404(operator_selectors.enrolment_documents_visible_to(user=request.user), pk=pk)
        return attachment_response(document)

    @admin.action(description="Valider les demandes d'enrôlement sélectionnées")
    def validate_selected(self, request, queryset):
        done = 0
        for enrolment in queryset:
            try:
                operator_services.enrolment_validate(enrolment=enrolment, actor=request.user)
                done += 1
            except DomainError as error:
                self.message_user(request, f"Enrôlement n° {enrolment.pk} : {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} demande(s) d'enrôlement validée(s).", messages.SUCCESS)


# --- Bank-details changes (decided by agents through operators.services) ----------------------------


def masked_iban(iban):
    return f"{iban[:4]} … {iban[-4:]}" if iban else "—"


class BankDetailsEventInline(HistoryInlineMixin, ReadOnlyInline):
    model = BankDetailsEvent
    fields = ["seq", "at_paris", "actor_label", "action_label", "from_state", "to_state", "comment"]
    readonly_fields = fields
    ordering = ["seq"]
    verbose_name_plural = "historique (journal d'audit)"


class BankDetailsStateFilter(admin.SimpleListFilter):
    title = "à faire"
    parameter_name = "a_faire"

    def lookups(self, request, model_admin):
        return [("decider", "À décider")]

    def queryset(self, request, queryset):
        if self.value() == "decider":
            return queryset.filter(state="pending")
        return queryset


@admin.register(BankDetailsChange)
class BankDetailsChangeAdmin(NoAddOrDeleteMixin, WorkflowAdmin):
    workflow = operator_services.BANK_DETAILS_DECISIONS
    workflow_argument = "change"
    workflow_path = "decision"
    workflow_context = "decision_forms"
    workflow_actions = {
        "validate": AdminAction(operator_services.bank_details_validate, text="comment", text_field="message"),
        "refuse": AdminAction(operator_services.bank_details_refuse, text="reason", text_field="message"),
    }
    list_display = ["id", "operator", "new_account", "state", "requested_at", "requested_by", "decided_by"]
    list_display_links = ["id", "operator"]
    list_filter = [BankDetailsStateFilter, "state"]
    search_fields = ["=id", "operator__legal_name", "=operator__siren", "=iban"]
    list_select_related = ["operator", "requested_by", "decided_by"]
    fieldsets = [
        (None, {"fields": ["operator", "state", "fraud_signals"]}),
        ("Compte demandé", {"fields": ["iban", "bic", "proof_link"]}),
        ("Compte validé à ce jour (payé tant que la demande n'est pas validée)", {"fields": ["current_account"]}),
        ("Compte remplacé", {"fields": ["previous_iban", "previous_bic"]}),
        ("Instruction", {"fields": ["requested_by", "requested_at", "decided_by", "decided_at", "decision_reason"]}),
    ]
    readonly_fields = [
        "operator",
        "state",
        "fraud_signals",
        "iban",
        "bic",
        "proof_link",
        "current_account",
        "previous_iban",
        "previous_bic",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_reason",
    ]
    inlines = [BankDetailsEventInline]

    @admin.display(description="nouveau compte")
    def new_account(self, obj):
        return f"{masked_iban(obj.iban)} — {obj.bic}"

    @admin.display(description="RIB")
    def proof_link(self, obj):
        proof = getattr(obj, "proof", None)
        if proof is None:
            return "—"
        if not proof.is_usable:  # being scanned or quarantined: never served (common.scanning)
            return format_html("{} — {}", proof.original_name, scan_column(self, proof))
        url = reverse("admin:operators_bankdetailsproof_download", args=[proof.pk])
        return format_html('<a href="{}">{}</a> (SHA-256 {})', url, proof.original_name, proof.sha256)

    @admin.display(description="compte validé")
    def current_account(self, obj):
        details = operator_selectors.validated_bank_details(operator=obj.operator)
        return f"IBAN {details[0]} — BIC {details[1]}" if details else "Aucun compte validé."

    @admin.display(description="signaux de fraude")
    def fraud_signals(self, obj):
        return fraud_signals_html(operator_selectors.open_fraud_flags(operator=obj.operator))

    def get_urls(self):
        return [
            path(
                "rib/<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="operators_bankdetailsproof_download",
            ),
            *super().get_urls(),
        ]

    def workflow_queryset(self, request):
        return operator_selectors.bank_details_changes_visible_to(user=request.user)

    def workflow_done(self, obj):
        return f"Coordonnées bancaires n° {obj.pk} ({obj.operator.legal_name}) : {obj.get_state_display()}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        change = self.get_object(request, object_id)
        if change is not None and request.method == "GET":
            warn_fraud(self, request, operator_selectors.open_fraud_flags(operator=change.operator))
        return super().change_view(request, object_id, form_url, extra_context)

    def download_view(self, request, pk):
        proof = get_object_or_404(operator_selectors.bank_details_proofs_visible_to(user=request.user), pk=pk)
        return attachment_response(proof)


# --- Fraud flags (cleared by agents through operators.services.fraud_flag_clear) ----------------------


class FraudFlagStatusFilter(admin.SimpleListFilter):
    title = "statut"
    parameter_name = "statut"

    def lookups(self, request, model_admin):
        return [("ouverts", "Ouverts"), ("leves", "Levés")]

    def queryset(self, request, queryset):
        if self.value() == "ouverts":
            return queryset.filter(cleared_at__isnull=True)
        if self.value() == "leves":
            return queryset.filter(cleared_at__isnull=False)
        return queryset


class ClearFlagForm(forms.Form):
    reason = forms.CharField(
        label="Motif de la levée",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Obligatoire : ce que vous avez vérifié (il est conservé avec le signal).",
    )


@admin.register(FraudFlag)
class FraudFlagAdmin(NoAddOrDeleteMixin, BaseAdmin):
    list_display = ["detected_at", "kind", "party", "short_detail", "status", "cleared_by", "cleared_at"]
    list_filter = [FraudFlagStatusFilter, "kind"]
    search_fields = ["operator__legal_name", "=operator__siren", "enrolment__legal_name", "=enrolment__siren", "=key"]
    list_select_related = ["operator", "enrolment", "cleared_by"]
    actions = ["clear_selected"]
    fields = ["kind", "party", "key", "detail", "detected_at", "status", "cleared_by", "cleared_at", "clear_reason"]
    readonly_fields = fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_any_agent(request.user):
            actions.pop("clear_selected", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="concerne")
    def party(self, obj):
        if obj.operator_id:
            url = reverse("admin:operators_operator_change", args=[obj.operator_id])
            return format_html('<a href="{}">{}</a>', url, obj.operator)
        url = reverse("admin:operators_enrolment_change", args=[obj.enrolment_id])
        return format_html('<a href="{}">{}</a>', url, obj.enrolment)

    @admin.display(description="constat")
    def short_detail(self, obj):
        return obj.detail if len(obj.detail) <= 160 else obj.detail[:159] + "…"

    @admin.display(description="statut")
    def status(self, obj):
        if obj.is_open:
            return format_html('<span style="color:#ce0500;font-weight:bold">{}</span>', "⚠ ouvert")
        return "levé"

    @admin.action(description="Lever les signaux sélectionnés (motif obligatoire)")
    def clear_selected(self, request, queryset):
        form = ClearFlagForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for flag in queryset:
                try:
                    operator_services.fraud_flag_clear(
                        flag=flag, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except DomainError as error:
                    self.message_user(request, f"{flag} : {error.message}", messages.ERROR)
            if done:
                self.message_user(request, f"{done} signal(aux) de fraude levé(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Lever des signaux de fraude",
            "flags": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/operators/fraudflag/clear.html", context)
