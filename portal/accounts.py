"""Portal pages for people and operators: sign-up, enrolment (docs/spec/SPEC.md §4a), invitations, operator profile.

Writes go through `operators.services` (which checks everything before writing: nothing is ever
half-created); reads through `operators.selectors`, scoped to the user.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.downloads import attachment_response
from common.exceptions import DomainError, NotAllowed
from common.roles import is_any_agent, operator_id_of
from operators import selectors as operator_selectors
from operators import services as operator_services
from operators.enums import OPTIONAL_ENROLMENT_PROOFS, EnrolmentDocumentKind
from portal import helpers, staging
from portal.forms import (
    CommentForm,
    EnrolmentForm,
    InvitationAcceptForm,
    InviteForm,
    SignupForm,
    apply_domain_error,
    error_summary,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# The staging key (portal.staging) of the files of a new enrolment's form.
NEW_ENROLMENT = "enrolment-new"


def _posted(request):
    """The POST data for a bound form (even when empty), None on GET."""
    return request.POST if request.method == "POST" else None


def own_enrolments(user):
    return operator_selectors.enrolments_visible_to(user=user).filter(user=user).order_by("-created_at")


# --- Sign-up ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request):
    """A representative creates an account; they then declare their operator (enrolment)."""
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    return _account_form(
        request,
        SignupForm(_posted(request)),
        lambda data: operator_services.account_create(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            first_name=data["first_name"],
            last_name=data["last_name"],
        ),
        template="portail/signup.html",
        success="Compte créé. Déclarez maintenant l'opérateur que vous représentez.",
        next_url="portal:enrolment_new",
    )


def _account_form(request, form, create, *, template, success, next_url):
    """A form that creates an account: `create(cleaned_data)` calls the service; the new user is then
    logged in and sent to `next_url`, or the service's errors are shown on the form (a 400)."""
    if request.method == "POST" and form.is_valid():
        try:
            user = create(form.cleaned_data)
        except DomainError as error:
            apply_domain_error(form, _rename(error, password="password1"))
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, success)
            return redirect(next_url)
    context = {"form": form, "error_summary": error_summary(form)}
    return render(request, template, context, status=400 if form.errors else 200)


def _rename(error, **names):
    """The service's field names mapped to the form's (e.g. password → password1)."""
    error.errors = {names.get(key, key): value for key, value in (error.errors or {}).items()}
    return error


# --- Enrolment ------------------------------------------------------------------------------------


@require_GET
@login_required
def enrolment(request):
    """The user's enrolment: state, the agent's message, proofs, history, and the answer form."""
    user = request.user
    current = own_enrolments(user).first()
    if current is None:
        return redirect("portal:enrolment_new")
    return _render_enrolment(request, current)


def _render_enrolment(request, current, *, form=None, status=200):
    user = request.user
    abilities = operator_services.enrolment_abilities(user=user, enrolment=current)
    if form is None and abilities["resubmit"]:
        form = EnrolmentForm(initial=operator_services.declared_values(current), documents_required=False)
    latest = operator_selectors.latest_enrolment_documents(enrolment=current)
    if form is not None and not hasattr(form, "staged"):
        form.staged = staging.staged(request, f"enrolment-{current.pk}")
    context = {
        "enrolment": current,
        "abilities": abilities,
        "form": form,
        "error_summary": error_summary(form),
        "comment_form": CommentForm(_posted(request)) if abilities["resubmit"] else None,
        "proofs": [
            (EnrolmentDocumentKind(kind).label, latest.get(kind), True)
            for kind in operator_services.required_enrolment_proof_kinds(vat_liable=current.vat_liable)
        ]
        + [(EnrolmentDocumentKind(kind).label, latest.get(kind), False) for kind in OPTIONAL_ENROLMENT_PROOFS],
        "documents": current.documents.select_related("uploaded_by").order_by("kind", "-version"),
        "events": current.events.order_by("seq"),
        "can_start_new": not current.is_open and operator_id_of(user) is None and not is_any_agent(user),
        "older": own_enrolments(user).exclude(pk=current.pk),
    }
    return render(request, "portail/enrolment.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def enrolment_new(request):
    user = request.user
    if is_any_agent(user) or user.is_staff:
        messages.error(request, operator_services.AGENTS_CANNOT_ENROL)
        return redirect("portal:dashboard")
    if operator_id_of(user) is not None:
        messages.info(request, operator_services.ALREADY_MEMBER)
        return redirect("portal:dashboard")
    if operator_selectors.open_enrolment_of(user=user) is not None:
        messages.info(request, operator_services.OPEN_ENROLMENT_EXISTS)
        return redirect("portal:enrolment")
    form = EnrolmentForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        documents = staging.with_staged(request, NEW_ENROLMENT, form.documents())
        try:
            operator_services.enrolment_submit(user=user, documents=documents, **form.declared())
        except DomainError as error:
            apply_domain_error(form, error)
            staging.keep(request, NEW_ENROLMENT, documents, refused=set(error.errors or {}))
        else:
            staging.clear(request, NEW_ENROLMENT)
            messages.success(
                request,
                "Demande d'enrôlement déposée : l'agence de paiement va la vérifier. Vous serez averti par e-mail.",
            )
            return redirect("portal:enrolment")
        finally:
            staging.close(documents)
    form.staged = staging.staged(request, NEW_ENROLMENT)
    context = {"form": form, "error_summary": error_summary(form)}
    return render(request, "portail/enrolment_form.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def enrolment_resubmit(request, pk):
    current = get_object_or_404(own_enrolments(request.user), pk=pk)
    form = EnrolmentForm(request.POST, request.FILES, documents_required=False)
    comment_form = CommentForm(request.POST)
    comment = comment_form.cleaned_data["comment"] if comment_form.is_valid() else ""
    key = f"enrolment-{current.pk}"
    if form.is_valid():
        documents = staging.with_staged(request, key, form.documents())
        try:
            operator_services.enrolment_resubmit(
                enrolment=current, actor=request.user, documents=documents, comment=comment, **form.declared()
            )
        except DomainError as error:
            apply_domain_error(form, error)
            staging.keep(request, key, documents, refused=set(error.errors or {}))
        else:
            staging.clear(request, key)
            messages.success(request, "Demande d'enrôlement complétée renvoyée à l'agence de paiement.")
            return redirect("portal:enrolment")
        finally:
            staging.close(documents)
    form.staged = staging.staged(request, key)
    return _render_enrolment(request, current, form=form, status=400)


@require_GET
@login_required
def enrolment_document_download(request, pk):
    """An enrolment proof, to its representative and to agents only; always as an attachment."""
    document = get_object_or_404(operator_selectors.enrolment_documents_visible_to(user=request.user), pk=pk)
    return attachment_response(document)


# --- Operator profile and invitations ---------------------------------------------------------------


@require_GET
@login_required
def operator_profile(request):
    return _render_operator(request, helpers.operator_or_404(request.user))


def _render_operator(request, operator, *, invite_form=None, status=200):
    can_invite = operator_services.operator_can_invite(user=request.user, operator=operator)
    context = {
        "operator": operator,
        "members": operator_selectors.members_of(operator=operator),
        "can_invite": can_invite,
        "invitations": operator_selectors.invitations_visible_to(user=request.user).order_by("-created_at")
        if can_invite
        else [],
        "invite_form": invite_form or InviteForm(),
        "now": timezone.now(),
    }
    return render(request, "portail/operator.html", context, status=status)


@require_POST
@login_required
def invitation_create(request):
    operator = helpers.operator_or_404(request.user)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            operator_services.invitation_create(operator=operator, email=form.cleaned_data["email"], actor=request.user)
        except NotAllowed as error:
            messages.error(request, error.message)  # the form is not on the page for this user
            return redirect("portal:operator")
        except DomainError as error:
            apply_domain_error(form, error, default_field="email")
        else:
            messages.success(request, f"Invitation envoyée à {form.cleaned_data['email']} (valable 7 jours).")
            return redirect("portal:operator")
    return _render_operator(request, operator, invite_form=form, status=400)


@require_POST
@login_required
def invitation_revoke(request, pk):
    invitation = get_object_or_404(operator_selectors.invitations_visible_to(user=request.user), pk=pk)
    try:
        operator_services.invitation_revoke(invitation=invitation, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Invitation de {invitation.email} révoquée.")
    return redirect("portal:operator")


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """Whoever holds a valid invitation link creates their account, a member of the inviting operator."""
    if request.user.is_authenticated:
        messages.info(request, "Déconnectez-vous pour accepter une invitation avec un nouveau compte.")
        return redirect("portal:dashboard")
    return _account_form(
        request,
        InvitationAcceptForm(_posted(request)),
        lambda data: operator_services.invitation_accept(
            token=token,
            username=data["username"],
            password=data["password1"],
            first_name=data["first_name"],
            last_name=data["last_name"],
        ),
        template="portail/invitation_accept.html",
        success="Bienvenue : votre compte est rattaché à votre opérateur.",
        next_url="portal:dashboard",
    )
