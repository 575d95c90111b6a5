"""Portal views: thin. Reads through scoped selectors (another operator's object is a 404), writes
through services; a DomainError becomes a French message, never a 500."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from claims import recoveries, selectors, services
from claims.enums import ClaimKind
from common.downloads import attachment_response
from common.exceptions import DomainError, NotAllowed, StateConflict
from common.roles import is_any_agent
from funding import selectors as funding_selectors
from funding.calendar import paris_today
from funding.enums import MailboxType
from funding.formula import compute_breakdown, with_vat
from portal import helpers
from portal.accounts import own_enrolments
from portal.forms import (
    ClaimCreateForm,
    CommentForm,
    DocumentUploadForm,
    RecoveryObservationsForm,
    SimulatorForm,
    TechnicalDocForm,
    apply_domain_error,
    error_summary,
)


def _claim_for(request, pk):
    """The claim if `request.user` may see it, else 404 (never 403: existence is not disclosed)."""
    return get_object_or_404(selectors.claims_visible_to(user=request.user), pk=pk)


# --- Dashboard --------------------------------------------------------------------------------


@require_GET
@login_required
def dashboard(request):
    user = request.user
    operator = helpers.operator_for(user)
    context = {"operator": operator, "is_agent": is_any_agent(user)}
    if operator is not None:
        context["blocks"] = helpers.dashboard_blocks(user=user, operator=operator)
        context["open_recoveries"] = helpers.open_recoveries(user=user, operator=operator)
    context.update(_enrolment_context(user))
    return render(request, "portail/dashboard.html", context)


def _enrolment_context(user):
    """The user's latest enrolment, for the dashboard banner (state, the agent's message)."""
    if is_any_agent(user):
        return {"enrolment": None}
    return {"enrolment": own_enrolments(user).first()}


# --- Claims -----------------------------------------------------------------------------------


def _render_claim(request, claim, *, status=200, **forms):
    context = helpers.claim_page_context(claim=claim, user=request.user)
    context["upload_form"] = forms.get("upload_form") or DocumentUploadForm(claim=claim)
    context["details_form"] = forms.get("details_form") or TechnicalDocForm(
        initial={name: getattr(claim, name) for name in services.DETAIL_FIELDS}, **_details_options(claim)
    )
    context["comment_form"] = CommentForm()
    bound = forms.get("observations_form")  # (recovery id, form) after a refused sending
    for view in context["recoveries"]:
        if view.can_observe:
            if bound and bound[0] == view.case.pk:
                view.form = bound[1]
            else:
                view.form = RecoveryObservationsForm(prefix=f"indu-{view.case.pk}")
    bound_observations = bound[1] if bound else None
    context["error_summary"] = error_summary(forms.get("upload_form"), forms.get("details_form"), bound_observations)
    return render(request, "portail/claim_detail.html", context, status=status)


def _details_options(claim):
    return {"buyer": claim.operator.is_buyer, "balance": claim.kind == ClaimKind.BALANCE}


@require_GET
@login_required
def claim_detail(request, pk):
    return _render_claim(request, _claim_for(request, pk))


@require_POST
@login_required
def claim_create(request):
    operator = helpers.operator_for(request.user)
    form = ClaimCreateForm(request.POST)
    if operator is None or not form.is_valid():
        messages.error(
            request, "Demande impossible : seul un utilisateur d'un opérateur enrôlé peut créer une demande."
        )
        return redirect("portal:dashboard")
    campaign = get_object_or_404(funding_selectors.campaigns(), code=form.cleaned_data["campaign"])
    kind = ClaimKind(form.cleaned_data["kind"])
    try:
        claim = services.claim_create(operator=operator, campaign=campaign, kind=kind, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portal:dashboard")
    messages.success(request, f"Demande « {kind.label} » créée : déposez vos pièces puis la demande.")
    return redirect("portal:claim", pk=claim.pk)


@require_POST
@login_required
def claim_upload(request, pk):
    claim = _claim_for(request, pk)
    form = DocumentUploadForm(request.POST, request.FILES, claim=claim)
    if form.is_valid():
        try:
            document = services.document_upload(
                claim=claim,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                uploaded_file=form.cleaned_data["file"],
            )
        except (NotAllowed, StateConflict) as error:
            # The claim no longer takes proofs: the form is gone from the page, say it above.
            messages.error(request, error.message)
            return redirect("portal:claim", pk=claim.pk)
        except DomainError as error:
            apply_domain_error(form, error, default_field="file")
        else:
            scanned = (
                " L'antivirus l'analyse : elle comptera pour la demande une fois déclarée saine."
                if document.scan_status == "pending"
                else ""
            )
            messages.success(
                request, f"Pièce déposée : {document.get_kind_display()} (version {document.version}).{scanned}"
            )
            return redirect("portal:claim", pk=claim.pk)
    return _render_claim(request, claim, status=400, upload_form=form)


@require_POST
@login_required
def claim_update_details(request, pk):
    claim = _claim_for(request, pk)
    form = TechnicalDocForm(request.POST, **_details_options(claim))
    if form.is_valid():
        # Only the fields the page sent: a form posting the link alone leaves the others as they are.
        sent = {name: value for name, value in form.cleaned_data.items() if name in request.POST}
        try:
            services.claim_update_details(claim=claim, actor=request.user, **sent)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Informations de la demande enregistrées.")
        return redirect("portal:claim", pk=claim.pk)
    return _render_claim(request, claim, status=400, details_form=form)


RECEIPT_SENT = " Votre accusé de dépôt est dans les documents de la demande et vous a été envoyé par courriel."
TRANSITION_SERVICES = {
    "submit": (services.claim_submit, False, "Demande déposée : l'agence de paiement va l'instruire." + RECEIPT_SENT),
    "resubmit": (services.claim_resubmit, True, "Demande complétée renvoyée à l'agence de paiement." + RECEIPT_SENT),
    "withdraw": (services.claim_withdraw, True, "Demande retirée."),
}


@require_POST
@login_required
def claim_transition(request, pk, action):
    claim = _claim_for(request, pk)
    if action not in TRANSITION_SERVICES:
        raise Http404
    service, takes_comment, success = TRANSITION_SERVICES[action]
    kwargs = {}
    if takes_comment:
        form = CommentForm(request.POST)
        kwargs["comment"] = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        service(claim=claim, actor=request.user, **kwargs)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("portal:claim", pk=claim.pk)


@require_POST
@login_required
def recovery_observations(request, pk, recovery_id):
    """The operator's observations on an undue-payment notice: the same service as the API's."""
    claim = _claim_for(request, pk)
    case = get_object_or_404(selectors.recoveries_visible_to(user=request.user).filter(claim=claim), pk=recovery_id)
    form = RecoveryObservationsForm(request.POST, request.FILES, prefix=f"indu-{case.pk}")
    if form.is_valid():
        try:
            recoveries.recovery_record_observations(
                recovery=case,
                observations=form.cleaned_data["observations"],
                attachments=form.cleaned_data["attachments"],
                actor=request.user,
            )
        except (NotAllowed, StateConflict) as error:
            # Too late, or already decided: the form is gone from the page, say it above.
            messages.error(request, error.message)
            return redirect("portal:claim", pk=claim.pk)
        except DomainError as error:
            apply_domain_error(form, error, default_field="attachments")
        else:
            messages.success(request, f"Observations sur l'indu n° {case.pk} transmises à l'agence de paiement.")
            return redirect(f"{reverse('portal:claim', args=[claim.pk])}#indu-{case.pk}")
    return _render_claim(request, claim, status=400, observations_form=(case.pk, form))


@require_GET
@login_required
def document_download(request, pk):
    """A proof, to the owning operator's users and to agents only; always as an attachment."""
    document = get_object_or_404(selectors.documents_visible_to(user=request.user), pk=pk)
    return attachment_response(document)


# --- Funding simulator (public) -----------------------------------------------------------------


@require_GET
def simulator(request):
    """The workshop's simulator: counts per mailbox type → the funding under each published schedule."""
    submitted = any(key in request.GET for key in ("APP", "ORG", "PER"))
    form = SimulatorForm(request.GET if submitted else None)
    results = []
    # VAT shown beside, at the rate of the newest campaign (data), for an operator liable to it.
    vat_rate = funding_selectors.current_vat_rate()
    # The schedules of the newest campaign are in force: shown first and open; the others are history.
    newest = funding_selectors.campaigns().first()
    in_force = {newest.schedule_id, newest.developer_schedule_id} if newest else set()
    if submitted and form.is_valid():
        counts = form.counts()
        schedules = sorted(funding_selectors.published_schedules(), key=lambda s: (s.pk not in in_force, s.code))
        for schedule in schedules:
            breakdown = compute_breakdown(schedule=schedule, counts=counts)
            results.append(
                {
                    "schedule": schedule,
                    "breakdown": helpers.BreakdownView.from_dict(breakdown.as_dict(), frozen=False),
                    "total_with_vat": with_vat(breakdown.total, vat_rate) if vat_rate else None,
                    "in_force": schedule.pk in in_force,
                }
            )
    status = 400 if submitted and not form.is_valid() else 200
    context = {
        "form": form,
        "results": [r for r in results if r["in_force"]],
        "historical": [r for r in results if not r["in_force"]],
        "vat_rate": vat_rate,
        "error_summary": error_summary(form),
    }
    return render(request, "portail/simulator.html", context, status=status)


# --- The operator's mailboxes over time ---------------------------------------------------------


@require_GET
@login_required
def mailboxes(request):
    """The operator's own mailbox counts per type on each day a figure came in (Annuaire extractions,
    ANS's count file, agents' entries), the funding each would give and where it stands against the
    cap, under the chosen campaign's schedule for its kind (?campagne=<code>, default the newest)."""
    operator = helpers.operator_for(request.user)
    if operator is None:
        raise Http404
    campaigns = list(funding_selectors.campaigns())
    campaign = next(
        (c for c in campaigns if c.code == request.GET.get("campagne")), campaigns[0] if campaigns else None
    )
    if campaign is None:
        raise Http404
    points = funding_selectors.operator_mailbox_history(operator=operator, campaign=campaign, until=paris_today())
    schedule = campaign.schedule_for(operator.kind)
    types = [kind for kind in MailboxType.values if any(kind in point.lines for point in points)]
    latest = points[-1] if points else None
    chart = {
        "labels": [point.day.isoformat() for point in points],
        "types": types,
        "counts": {
            kind: [point.lines[kind].count if kind in point.lines else None for point in points] for kind in types
        },
        "funding": [float(point.funding.total) for point in points],
        "cap": float(schedule.cap),
    }
    context = {
        "operator": operator,
        "campaign": campaign,
        "campaigns": campaigns,
        "schedule": schedule,
        "types": types,
        "rows": [{"point": point, "cells": [point.lines.get(kind) for kind in types]} for point in reversed(points)],
        "latest": latest,
        "cap_share": (latest.funding.subtotal / schedule.cap) if latest and schedule.cap else None,
        "cap_remaining": schedule.cap - latest.funding.total if latest else None,
        "chart": chart,
    }
    return render(request, "portail/mailboxes.html", context)
