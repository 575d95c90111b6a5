"""The house admin: BaseAdmin (defaults and French titles), the history inline, and WorkflowAdmin,
whose action buttons come from a state machine's table (common.workflow) and call its services."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst

from common.exceptions import DomainError, InvalidInput, NotAllowed
from common.formatting import PARIS, paris_datetime
from common.roles import actor_label

# The agents' admin is as wide as the page: Django's app sidebar would take a third of a 1 280 px
# screen from the claims list (the admin index lists the apps).
admin.site.enable_nav_sidebar = False


def person(field_name, description):
    """A read-only field or column naming the user in `field_name` (« Prénom Nom (identifiant) »), as
    text: Django would link it to the accounts' admin, which agents may not open (a 403)."""

    @admin.display(description=description, ordering=field_name)
    def show(self, obj):
        user = getattr(obj, field_name)
        return actor_label(user) if user is not None else "—"

    show.__name__ = f"{field_name}_name"
    return show


def formatted(field_name, description, formatter, *, sortable=False):
    """A read-only field or column showing `field_name` through one of common.formatting's formatters
    (euros, paris_date, paris_datetime…), so that no page formats an amount or a date its own way."""

    @admin.display(description=description, ordering=field_name if sortable else None)
    def show(self, obj):
        return formatter(getattr(obj, field_name))

    show.__name__ = f"{field_name}_formatted"
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


class NoAddOrDeleteMixin:
    """Rows that only services create (a workflow, an import, a payment run) and that the history
    needs: the admin neither adds nor deletes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyMixin(NoAddOrDeleteMixin):
    """A record shown as written (a journal, an import's report, a payment line): never edited."""

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows of an object's page that are shown, never added, edited or removed there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def inline_prefix(inline, parent_model):
    """The form prefix Django gives `inline` on `parent_model`'s page (its FK's accessor name)."""
    foreign_key = next(
        f
        for f in inline.model._meta.get_fields()
        if f.many_to_one and f.related_model is parent_model and inline.fk_name in (None, f.name)
    )
    return foreign_key.remote_field.get_accessor_name(model=False)


class HistoryInlineMixin:
    """A hash-chained history shown in the admin: the time in Paris and the action's French label
    (common.labels, through the event's `action_label`), for every journal of the product."""

    @admin.display(description="date (heure de Paris)")
    def at_paris(self, obj):
        return paris_datetime(obj.at)

    @admin.display(description="action")
    def action_label(self, obj):
        return obj.action_label


# --- Workflow buttons -------------------------------------------------------------------------------


def report_error(modeladmin, request, error):
    """A domain error as one French admin message (with what is missing, when listed)."""
    details = [str(m) for messages_ in error.errors.values() for m in messages_ if str(m) not in error.message]
    modeladmin.message_user(request, " ".join([error.message, *details]), level=messages.ERROR)


def parse_date(value, *, required=False):
    """A date typed in an admin form (AAAA-MM-JJ); None when left empty and not `required`."""
    value = (value or "").strip()
    if not value and not required:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"Date invalide : « {value} » (format attendu AAAA-MM-JJ).") from None


def parse_amount(value):
    """An amount typed in an admin form, French or not (« 1 234,56 », « 1234.56 »)."""
    try:
        amount = Decimal(str(value).replace(" ", "").replace("\u202f", "").replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"Montant invalide : « {value} ».") from None
    if not amount.is_finite():
        raise InvalidInput(f"Montant invalide : « {value} ».")
    return amount


def text(value):
    return (value or "").strip()


@dataclass(frozen=True)
class AdminAction:
    """A button of a WorkflowAdmin change page: the service it calls and what the form sends it.

    `text`: the service argument receiving the text typed in the form field `text_field` (None: the
    form has no text box); `inputs`: {service argument: (form field, parser)} for the other fields.
    """

    service: Callable
    text: str | None = "comment"
    text_field: str = "comment"
    inputs: dict = field(default_factory=dict)

    def arguments(self, data):
        kwargs = {name: parse(data.get(form_field, "")) for name, (form_field, parse) in self.inputs.items()}
        if self.text is not None:
            kwargs[self.text] = data.get(self.text_field, "")
        return kwargs


class WorkflowAdmin(BaseAdmin):
    """A change page whose buttons are the transitions of `workflow` (common.workflow.Workflow) the user
    may fire from the object's state, each calling its service (`workflow_actions`) with
    `actor=request.user`; a refusal comes back as the service's French message. The object is never
    edited through the form.

    Subclasses set `workflow`, `workflow_actions` ({transition name: AdminAction}), `workflow_argument`
    (the service's keyword for the object), and may set `workflow_path` (the URL segment, which also
    names the URL: admin:<app>_<model>_<workflow_path>) and `workflow_context` (the template's name
    for the list of buttons).
    """

    workflow = None
    workflow_actions: dict = {}
    workflow_argument = "obj"
    workflow_path = "transition"
    workflow_context = "transition_forms"
    forbidden_is_403 = False  # NotAllowed: a 403 rather than an error message

    def workflow_queryset(self, request):
        """The objects the user may act on (scoped by a selector where the app has one)."""
        return self.get_queryset(request)

    def workflow_done(self, obj):
        """The success message once a transition was fired."""
        return f"{capfirst(self.model._meta.verbose_name)} n° {obj.pk} : {obj.get_state_display()}."

    def workflow_buttons(self, request, obj):
        """One dict per transition `request.user` may fire from `obj`'s state and this admin offers."""
        today = timezone.localtime(timezone.now(), PARIS).date().isoformat()
        url_name = f"admin:{self.opts.app_label}_{self.opts.model_name}_{self.workflow_path}"
        order = list(self.workflow_actions)  # the buttons in the admin's order, not the table's
        options = sorted(
            (option for option in self.workflow.options(user=request.user, obj=obj) if option[0].name in order),
            key=lambda option: order.index(option[0].name),
        )
        return [
            {
                "name": transition.name,
                "step": transition.name,
                "label": transition.label,
                "url": reverse(url_name, args=[obj.pk, transition.name]),
                "comment": self.workflow_actions[transition.name].text is not None,
                "comment_required": transition.comment_required,
                "required": transition.comment_required,
                "reason": transition.comment_required,
                "inputs": tuple(self.workflow_actions[transition.name].inputs),
                "missing": missing,
                "today": today,
            }
            for transition, missing in options
        ]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_{self.workflow_path}"
        view = self.admin_site.admin_view(self.transition_view)
        return [path(f"<int:pk>/{self.workflow_path}/<str:name>/", view, name=name), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            **(extra_context or {}),
        }
        if obj is not None:
            extra_context[self.workflow_context] = self.workflow_buttons(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def transition_view(self, request, pk, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if name not in self.workflow_actions:
            raise Http404
        obj = get_object_or_404(self.workflow_queryset(request), pk=pk)
        action = self.workflow_actions[name]
        try:
            kwargs = action.arguments(request.POST)
            obj = action.service(**{self.workflow_argument: obj, "actor": request.user, **kwargs})
        except NotAllowed as error:
            if self.forbidden_is_403:
                raise PermissionDenied(error.message) from None
            report_error(self, request, error)
        except DomainError as error:
            report_error(self, request, error)
        else:
            self.message_user(request, self.workflow_done(obj), messages.SUCCESS)
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk]))
