from django.contrib import admin

from common.admin import BaseAdmin
from operators.models import ContractV2, MailDomain, Membership, Operator, Referencing


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
    list_display = ["legal_name", "siren", "kind", "provider", "referencing_number"]
    list_filter = ["kind"]
    search_fields = ["legal_name", "siren", "siret", "referencings__number", "domains__name"]
    list_select_related = ["provider"]
    autocomplete_fields = ["provider"]
    inlines = [ReferencingInline, ContractInline, MailDomainInline, MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("referencings")

    @admin.display(description="numéro de référencement")
    def referencing_number(self, obj):
        return obj.referencing_number or "—"


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
