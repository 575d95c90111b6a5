from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import capfirst

# The agents' admin is as wide as the page: Django's app sidebar would take a third of a 1 280 px
# screen from the claims list (the admin index lists the apps).
admin.site.enable_nav_sidebar = False


def person(field_name, description):
    """A read-only field or column naming the user in `field_name` (« Prénom Nom (identifiant) »), as
    text: Django would link it to the accounts' admin, which agents may not open (a 403)."""

    @admin.display(description=description, ordering=field_name)
    def show(self, obj):
        from common.roles import actor_label

        user = getattr(obj, field_name)
        return actor_label(user) if user is not None else "—"

    show.__name__ = f"{field_name}_name"
    return show


class BaseAdmin(admin.ModelAdmin):
    """House defaults for every admin page: save buttons on top, joins declared per admin, plain French
    titles (« Demandes », « Demande n° 12 — Alpha Santé ») instead of Django's « Sélectionnez l'objet
    … à changer » and « Modification de … », and a « Historique » button that opens the object's
    audit trail (its history inline) rather than Django's empty object history."""

    save_on_top = True
    list_per_page = 50
    show_full_result_count = False  # no full-table COUNT(*) on filtered lists

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": capfirst(self.model._meta.verbose_name_plural), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id) if "title" not in extra_context else None
        if obj is not None:
            extra_context = {"title": f"{capfirst(self.model._meta.verbose_name)} : {obj}", **extra_context}
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        for inline in self.inlines:
            if issubclass(inline, HistoryInlineMixin):
                url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[object_id])
                return redirect(f"{url}#{inline_prefix(inline, self.model)}-group")
        return super().history_view(request, object_id, extra_context)


def inline_prefix(inline, parent_model):
    """The form prefix Django gives `inline` on `parent_model`'s page (its FK's accessor name)."""
    from django.forms.models import _get_foreign_key

    return _get_foreign_key(parent_model, inline.model, fk_name=inline.fk_name).remote_field.get_accessor_name(
        model=False
    )


class HistoryInlineMixin:
    """A hash-chained history shown in the admin: the time in Paris and the action's French label
    (common.labels, through the event's `action_label`), for every journal of the product."""

    @admin.display(description="date (heure de Paris)")
    def at_paris(self, obj):
        from common.formatting import paris_datetime

        return paris_datetime(obj.at)

    @admin.display(description="action")
    def action_label(self, obj):
        return obj.action_label
