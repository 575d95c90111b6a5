from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin import BaseAdmin
from common.exceptions import DomainError
from operators import selectors as operator_selectors
from operators import services as operator_services
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


class ReferencingInline(admin.TabularInline):
    model = Referencing
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Operator)
class OperatorAdmin(BaseAdmin):
    list_display = ["legal_name", "siren", "kind", "provider", "referencing_number", "growth_flag"]
    list_filter = ["kind"]
    search_fields = ["legal_name", "siren", "siret", "referencings__number", "domains__name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    inlines = [ReferencingInline, ContractInline, MailDomainInline, MembershipInline]
    readonly_fields = ["growth_figures"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("referencings", "growth_checks")

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


@admin.register(ContractV2)
class ContractV2Admin(BaseAdmin):
    list_display = ["operator", "status", "signed_on", "countersigned_on", "terminated_on"]
    list_filter = ["status"]
    search_fields = ["operator__legal_name", "operator__siren"]
    list_select_related = ["operator"]
    autocomplete_fields = ["operator"]


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
        ("Déclaration", {"fields": ["user", "legal_name", "siren", "siret", "kind", "provider", "contact_email"]}),
        ("Référencement et coordonnées bancaires", {"fields": ["referencing_number", "iban", "bic"]}),
        ("Contrôles", {"fields": ["existing_operator"]}),
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
        "provider",
        "contact_email",
        "referencing_number",
        "iban",
        "bic",
        "existing_operator",
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
            "show_save": False,
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
        response = FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type=document.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

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
