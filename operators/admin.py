from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin import BaseAdmin
from common.downloads import attachment_response
from common.exceptions import DomainError
from common.roles import Role, is_agent
from operators import selectors as operator_selectors
from operators import services as operator_services
from operators.enums import OPTIONAL_ENROLMENT_PROOFS, ContractStatus, EnrolmentDocumentKind, OperatorKind
from operators.models import (
    ContractV2,
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
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
    readonly_fields = ["contract_status", "growth_figures"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("referencings", "contracts", "growth_checks")

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
                    f"{check.reference_snapshot.as_of:%d/%m/%Y}",
                    check.closure_count,
                    f"{check.closure_snapshot.as_of:%d/%m/%Y}",
                    f"×{check.growth}" if check.growth is not None else "absent à la référence",
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


def may_countersign(user):
    return is_agent(user, Role.INSTRUCTOR) or is_agent(user, Role.VALIDATOR)


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
        if not may_countersign(request.user):
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
                    f"au {form.cleaned_data['countersigned_on']:%d/%m/%Y}.",
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


class EnrolmentDocumentInline(admin.TabularInline):
    model = EnrolmentDocument
    extra = 0
    can_delete = False
    fields = ["kind", "version", "download", "content_type", "size", "sha256", "uploaded_at"]
    readonly_fields = fields
    ordering = ["kind", "-version"]
    verbose_name_plural = "pièces justificatives"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="fichier")
    def download(self, obj):
        url = reverse("admin:operators_enrolmentdocument_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


class EnrolmentEventInline(admin.TabularInline):
    model = EnrolmentEvent
    extra = 0
    can_delete = False
    fields = ["seq", "at", "actor_label", "action", "from_state", "to_state", "comment"]
    readonly_fields = fields
    ordering = ["seq"]
    verbose_name_plural = "historique (journal d'audit)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Decision buttons: service, name of its message argument, whether the message is required.
ENROLMENT_DECISIONS = {
    "validate": (operator_services.enrolment_validate, "comment", False),
    "request_changes": (operator_services.enrolment_request_changes, "message", True),
    "reject": (operator_services.enrolment_reject, "reason", True),
}


@admin.register(Enrolment)
class EnrolmentAdmin(BaseAdmin):
    list_display = ["id", "legal_name", "siren", "kind", "state", "user", "submitted_at", "operator"]
    list_display_links = ["id", "legal_name"]
    list_filter = ["state", "kind"]
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
        ("Contrôles", {"fields": ["existing_operator", "required_proofs"]}),
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
        "required_proofs",
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
        rows = [(EnrolmentDocumentKind(k).label, "fournie" if k in latest else "MANQUANTE") for k in kinds]
        rows += [
            (f"{EnrolmentDocumentKind(k).label} (facultatif)", "fournie" if k in latest else "non fournie")
            for k in OPTIONAL_ENROLMENT_PROOFS
        ]
        return format_html_join(mark_safe("<br>"), "{} : {}", rows)

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
                "<int:pk>/decision/<str:name>/",
                self.admin_site.admin_view(self.decision_view),
                name="operators_enrolment_decision",
            ),
            path(
                "document/<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="operators_enrolmentdocument_download",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        enrolment = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            # Saving only links a buyer's provider (save_model), hence shown only when that is possible.
            "show_save": self._may_link_provider(request, enrolment),
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        if enrolment is not None:
            abilities = operator_services.enrolment_abilities(user=request.user, enrolment=enrolment)
            extra_context["decision_forms"] = [
                {
                    "name": name,
                    "label": operator_services.ENROLMENT_TRANSITIONS[name].label,
                    "url": reverse("admin:operators_enrolment_decision", args=[enrolment.pk, name]),
                    "required": required,
                }
                for name, (_service, _argument, required) in ENROLMENT_DECISIONS.items()
                if abilities.get(name)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def decision_view(self, request, pk, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if name not in ENROLMENT_DECISIONS:
            raise Http404
        enrolment = get_object_or_404(Enrolment, pk=pk)
        service, argument, _required = ENROLMENT_DECISIONS[name]
        try:
            enrolment = service(enrolment=enrolment, actor=request.user, **{argument: request.POST.get("message", "")})
        except DomainError as error:
            details = " ".join(m for messages_ in error.errors.values() for m in messages_)
            self.message_user(request, f"{error.message} {details}".strip(), messages.ERROR)
        else:
            self.message_user(
                request, f"Demande d'enrôlement n° {enrolment.pk} : {enrolment.get_state_display()}.", messages.SUCCESS
            )
        return redirect("admin:operators_enrolment_change", pk)

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
