"""The claims list's filters: overdue, growth anomaly, recoveries to propose, assigned agent."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Q

from claims import selectors
from claims.enums import ClaimState
from funding.calendar import paris_today


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
