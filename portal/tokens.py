"""Portal: the user's API tokens (« Jetons d'API ») and their own password change.

A token's key is shown once, on the page that answers its creation; only its hash is stored.
Agents have no API tokens (they work in the admin): the page is a 404 for them.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.exceptions import DomainError
from operators import selectors as operator_selectors
from operators import services as operator_services
from portal.forms import DsfrFormMixin, apply_domain_error


class ApiTokenForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom du jeton", max_length=100, help_text="Par exemple le système qui l'utilisera : « ERP comptable »."
    )


class PasswordChangeForm(DsfrFormMixin, auth_forms.PasswordChangeForm):
    """The current password, then the new one twice."""


def _portal_user_or_404(user):
    if user.is_staff or user.is_superuser:
        raise Http404


def _render(request, *, form=None, new_key=None, new_token=None, status=200):
    tokens = operator_selectors.api_tokens_visible_to(user=request.user).order_by("-created_at")
    context = {"tokens": tokens, "form": form or ApiTokenForm(), "new_key": new_key, "new_token": new_token}
    context |= {"now": timezone.now(), "ttl_hours": settings.API_TOKEN_TTL_HOURS}
    return render(request, "portail/api_tokens.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def api_tokens(request):
    _portal_user_or_404(request.user)
    if request.method == "GET":
        return _render(request)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = operator_services.api_token_issue(user=request.user, name=form.cleaned_data["name"])
        except DomainError as error:
            apply_domain_error(form, error, default_field="name")
        else:
            return _render(request, new_key=key, new_token=token)  # shown once: never redirected nor stored
    return _render(request, form=form, status=400)


@require_POST
@login_required
def api_token_revoke(request, pk):
    _portal_user_or_404(request.user)
    token = get_object_or_404(operator_selectors.api_tokens_visible_to(user=request.user), pk=pk)
    operator_services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Jeton « {token.name} » révoqué.")
    return redirect("portal:api_tokens")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view: this session stays signed in, every other session and every API token dies."""

    template_name = "portail/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("portal:api_tokens")

    def form_valid(self, form):
        messages.success(
            self.request, "Mot de passe modifié : vos autres sessions et tous vos jetons d'API sont révoqués."
        )
        return super().form_valid(form)


password_change = PasswordChangeView.as_view()
