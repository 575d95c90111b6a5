from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from common import formatting
from common.admin import BaseAdmin
from common.exceptions import DomainError, NotAllowed
from common.uploads import inspect_upload
from funding import annuaire, selectors, services
from funding.calendar import PARIS
from funding.enums import CountSource
from funding.exports import write_csv
from funding.models import AnnuaireSnapshot, Campaign, FundingSchedule, GrowthCheck, MailboxCount
from operators.models import Operator


@admin.register(FundingSchedule)
class FundingScheduleAdmin(BaseAdmin):
    list_display = ["code", "label", "rate_app", "rate_org", "rate_per", "base", "cap", "advance_share", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        # A schedule in use is frozen: publish a new version instead of editing rates.
        if obj is not None and obj.campaigns.exists():
            return ["code", "rate_app", "rate_org", "rate_per", "base", "cap", "advance_share"]
        return []


@admin.register(Campaign)
class CampaignAdmin(BaseAdmin):
    list_display = [
        "code",
        "label",
        "schedule",
        "developer_schedule",
        "opening_date",
        "closure_date",
        "advance_deadline",
        "balance_deadline",
        "budget_link",
    ]
    search_fields = ["code", "label"]
    list_select_related = ["schedule", "developer_schedule"]
    autocomplete_fields = ["closure_snapshot"]
    fieldsets = [
        (None, {"fields": ["code", "label"]}),
        ("Barèmes", {"fields": ["schedule", "developer_schedule"]}),
        (
            "Calendrier (heure de Paris)",
            {"fields": ["opening_date", "closure_date", "advance_deadline", "balance_deadline"]},
        ),
        (
            "Comptage des BAL",
            {"fields": ["count_max_age_days", "closure_snapshot", "closure_snapshot_in_use", "reference_date"]},
        ),
        ("TVA", {"fields": ["vat_rate", "pays_vat"]}),
    ]
    readonly_fields = ["closure_snapshot_in_use"]

    @admin.display(description="extraction de clôture retenue")
    def closure_snapshot_in_use(self, obj):
        """What the balances read now: the agent's choice, else the default rule, said in words."""
        if obj.pk is None:
            return "—"
        snapshot = selectors.closure_snapshot(obj)
        if snapshot is None:
            return "Aucune extraction générée après la fin du jour de clôture n'est encore importée."
        how = "choisie par un agent" if obj.closure_snapshot_id else "par défaut : la première générée après la clôture"
        generated = (
            f", générée le {timezone.localtime(snapshot.generated_at, PARIS):%d/%m/%Y à %H:%M} (heure de Paris)"
            if snapshot.generated_at
            else ""
        )
        return f"{snapshot.file_name} (au {formatting.paris_date(snapshot.as_of)}{generated}) — {how}"

    actions = ["refresh_growth_checks"]

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [path("<int:pk>/budget/", report, name="funding_campaign_report"), *super().get_urls()]

    @admin.display(description="budget")
    def budget_link(self, obj):
        return format_html(
            '<a href="{}">Budget par opérateur</a>', reverse("admin:funding_campaign_report", args=[obj.pk])
        )

    @admin.action(description="Recalculer les contrôles de croissance des BAL")
    def refresh_growth_checks(self, request, queryset):
        for campaign in queryset:
            try:
                checks = services.growth_checks_refresh(campaign=campaign)
            except DomainError as exc:
                self.message_user(request, f"{campaign} : {exc.message}", messages.ERROR)
                continue
            flagged = sum(check.flagged for check in checks)
            self.message_user(request, f"{campaign} : {len(checks)} opérateurs contrôlés, {flagged} signalé(s).")

    def report_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(selectors.campaigns(), pk=pk)
        codes = [code for code in request.GET.getlist("schedule") if code]
        schedules = list(FundingSchedule.objects.filter(code__in=codes)) if codes else None
        report = selectors.campaign_report(campaign=campaign, schedules=schedules)
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="budget-{campaign.code}.csv"'
            write_csv(response, report)
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Budget de la campagne {campaign.label}",
            "campaign": campaign,
            "report": report,
            "all_schedules": FundingSchedule.objects.order_by("code"),
            "selected": codes,
            "csv_query": urlencode([("format", "csv"), *[("schedule", code) for code in codes]]),
        }
        return TemplateResponse(request, "admin/funding/campaign_report.html", context)


class MailboxCountForm(forms.ModelForm):
    proof_upload = forms.FileField(
        label="pièce justificative",
        required=False,
        help_text="PDF, PNG ou JPEG : obligatoire pour une saisie d'agent.",
    )

    class Meta:
        model = MailboxCount
        fields = ["operator", "mailbox_type", "as_of", "count", "source_note"]

    def clean(self):
        cleaned = super().clean()
        proof = cleaned.get("proof_upload")
        if not proof:
            self.add_error("proof_upload", "Joignez la pièce qui justifie ce nombre.")
        else:
            try:
                inspect_upload(proof)
            except DomainError as exc:
                self.add_error("proof_upload", exc.message)
        return cleaned

    def _get_validation_exclusions(self):
        # A new entry for the same operator, type and day replaces the figure (see the service):
        # skip the one-per-day constraint here, the form fields still validate the date.
        return {*super()._get_validation_exclusions(), "as_of"}


@admin.register(MailboxCount)
class MailboxCountAdmin(BaseAdmin):
    form = MailboxCountForm
    list_display = ["operator", "mailbox_type", "as_of", "count", "source", "entered_by", "has_proof"]
    list_filter = ["mailbox_type", "source", "as_of"]
    search_fields = ["operator__legal_name", "operator__siren"]
    list_select_related = ["operator", "entered_by"]
    autocomplete_fields = ["operator"]
    readonly_fields = ["source", "proof", "proof_sha256", "entered_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False  # a correction is a new entry (with its proof) that replaces the figure

    @admin.display(description="pièce", boolean=True)
    def has_proof(self, obj):
        return bool(obj.proof)

    def save_model(self, request, obj, form, change):
        # Through the service: role check, proof checked by content, source recorded.
        try:
            saved = services.mailbox_count_record(
                operator=form.cleaned_data["operator"],
                mailbox_type=form.cleaned_data["mailbox_type"],
                as_of=form.cleaned_data["as_of"],
                count=form.cleaned_data["count"],
                source_note=form.cleaned_data["source_note"],
                actor=request.user,
                source=CountSource.AGENT_ENTRY,
                proof=form.cleaned_data.get("proof_upload"),
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        obj.pk = saved.pk


# Errors listed on a snapshot's page; the JSON summary of the command lists them all.
ERRORS_SHOWN = 100


@admin.register(AnnuaireSnapshot)
class AnnuaireSnapshotAdmin(BaseAdmin):
    list_display = [
        "as_of",
        "file_name",
        "generation",
        "rows",
        "mailbox_total",
        "error_count",
        "imported_by_label",
        "imported_at",
    ]
    list_filter = ["as_of"]
    search_fields = ["file_name", "sha256"]
    readonly_fields = [
        "as_of",
        "generation",
        "file_name",
        "sha256",
        "rows",
        "mailbox_total",
        "types",
        "error_count",
        "error_lines",
        "imported_by",
        "imported_by_label",
        "imported_at",
        "links",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # python manage.py import_annuaire

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a snapshot holds up to a million rows: never through the admin's delete page

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/domaines-inconnus/", view(self.unknown_domains_view), name="funding_snapshot_unknown"),
            path("<int:pk>/operateurs/", view(self.operators_view), name="funding_snapshot_operators"),
            *super().get_urls(),
        ]

    @admin.display(description="heure de génération utilisée")
    def generation(self, obj):
        """The generation time read from the file name (Paris time), and the warning when the file was
        not generated the day after the day it is imported for (funding.annuaire.generation_warning)."""
        if obj.generated_at is None:
            return "inconnue (absente du nom du fichier) : extraction prise pour le jour de son import"
        text = f"{formatting.paris_datetime(obj.generated_at)} (heure de Paris, lue dans le nom du fichier)"
        warning = annuaire.generation_warning(generated_at=obj.generated_at, as_of=obj.as_of)
        if warning:
            return format_html('{}<br><strong style="color:#b34000">⚠ {}</strong>', text, warning)
        return text

    @admin.display(description="BAL par type")
    def types(self, obj):
        return format_html_join(
            "",
            "<div>{} : {}{}</div>",
            ((kind, formatting.count(n), annuaire.type_note(kind)) for kind, n in obj.by_type.items()),
        )

    @admin.display(description="erreurs (les premières)")
    def error_lines(self, obj):
        if not obj.errors:
            return "—"
        shown = obj.errors[:ERRORS_SHOWN]
        lines = format_html_join("", "<li>ligne {} : {}</li>", ((e["line"], e["error"]) for e in shown))
        more = obj.error_count - len(shown)
        tail = format_html("<li>… et {} autre{}</li>", more, "s" if more > 1 else "") if more > 0 else ""
        return format_html("<ul>{}{}</ul>", lines, tail)

    @admin.display(description="détails")
    def links(self, obj):
        return format_html(
            '<a href="{}">Domaines inconnus</a> · <a href="{}">BAL par opérateur</a>',
            reverse("admin:funding_snapshot_unknown", args=[obj.pk]),
            reverse("admin:funding_snapshot_operators", args=[obj.pk]),
        )

    def _snapshot(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(AnnuaireSnapshot, pk=pk)

    def unknown_domains_view(self, request, pk):
        """Domains of the snapshot no operator held that day, each with a link to attach it."""
        snapshot = self._snapshot(request, pk)
        add_url = reverse("admin:operators_maildomain_add")
        domains = [
            {
                "name": name,
                "count": count,
                "attach": f"{add_url}?{urlencode({'name': name, 'valid_from': snapshot.as_of.isoformat()})}",
            }
            for name, count in annuaire.unknown_domains(snapshot.pk, snapshot.as_of).items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Domaines inconnus — {snapshot}",
            "snapshot": snapshot,
            "domains": domains,
            "total": sum(domain["count"] for domain in domains),
        }
        return TemplateResponse(request, "admin/funding/unknown_domains.html", context)

    def operators_view(self, request, pk):
        snapshot = self._snapshot(request, pk)
        counts = annuaire.operator_type_counts(snapshot.pk, snapshot.as_of)
        operators = Operator.objects.in_bulk({operator_id for operator_id, _ in counts})
        rows = {}
        for (operator_id, kind), count in counts.items():
            rows.setdefault(operator_id, {"operator": operators[operator_id], "PER": 0, "ORG": 0, "APP": 0, "CAB": 0})
            rows[operator_id][kind] = count
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"BAL par opérateur — {snapshot}",
            "snapshot": snapshot,
            "rows": sorted(rows.values(), key=lambda row: row["operator"].legal_name),
        }
        return TemplateResponse(request, "admin/funding/snapshot_operators.html", context)


@admin.register(GrowthCheck)
class GrowthCheckAdmin(BaseAdmin):
    list_display = [
        "operator",
        "campaign",
        "reference_count",
        "closure_count",
        "increase",
        "growth_shown",
        "overall_growth",
        "flagged",
    ]
    list_filter = ["flagged", "campaign"]
    search_fields = ["operator__legal_name", "operator__siren"]
    list_select_related = ["operator", "campaign"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="hausse")
    def increase(self, obj):
        return obj.increase

    @admin.display(description="croissance de l'opérateur", ordering="growth")
    def growth_shown(self, obj):
        return obj.growth_label
