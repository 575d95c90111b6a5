"""What the portal pages show, computed from selectors and the workflow's guards (reads only)."""

from dataclasses import dataclass, field
from datetime import date

from django.http import Http404
from django.utils import timezone

from claims import pricing, selectors, workflow
from claims.breakdown import BreakdownView
from claims.enums import EDITABLE_STATES, ENDED_STATES, OPEN_RECOVERY_STATES, ClaimKind, ClaimState, DocumentKind
from claims.models import Claim
from claims.recoveries import observation_period_open
from claims.services import claim_abilities
from common.roles import operator_id_of
from funding import selectors as funding_selectors
from funding.calendar import is_open, paris_today
from operators import selectors as operator_selectors
from operators.models import Operator

# The transitions an operator fires from the portal, in the order their buttons appear.
OPERATOR_ACTIONS = ("submit", "resubmit", "withdraw")


def claim_breakdown(claim, *, at=None):
    """The frozen breakdown of a filed claim, or the estimate of a draft (None while a type has no
    figure): both from claims.pricing, the one home of the amount."""
    if claim.breakdown:
        return BreakdownView.from_dict(claim.breakdown, frozen=True)
    priced = pricing.estimate(claim, at=at)
    if priced is None:
        return None
    return BreakdownView.from_dict(priced.breakdown, frozen=False)


def claim_amount(claim, breakdown=None):
    """({"ht", "vat", "vat_rate", "to_pay"} or None, is_estimate)."""
    if claim.amount is not None:
        return {"ht": claim.amount, "vat": claim.vat, "vat_rate": claim.vat_rate, "to_pay": claim.amount_to_pay}, False
    breakdown = breakdown if breakdown is not None else claim_breakdown(claim)
    if breakdown is None or breakdown.amount is None:
        return None, False
    amount = {"ht": breakdown.amount, "vat": breakdown.vat, "vat_rate": breakdown.vat_rate}
    return {**amount, "to_pay": breakdown.amount_to_pay}, True


def missing_for(*, claim, user, at):
    """What still stands between the claim and its next step, in French (guards' own messages)."""
    if claim.state == ClaimState.DRAFT:
        return workflow.failed_guards(workflow.TRANSITIONS["submit"], claim, actor=user, at=at)
    if claim.state == ClaimState.CHANGES_REQUESTED:
        return workflow.failed_guards(workflow.TRANSITIONS["resubmit"], claim, actor=user, at=at)
    return []


def next_step(claim):
    """A short French sentence on who acts next."""
    return {
        ClaimState.DRAFT: "À compléter puis à déposer.",
        ClaimState.SUBMITTED: "Déposée : en attente de prise en charge par l'agence.",
        ClaimState.IN_REVIEW: "En cours d'instruction par l'agence.",
        ClaimState.CHANGES_REQUESTED: "Compléments demandés : répondez puis renvoyez la demande.",
        ClaimState.APPROVED: "Approuvée : paiement à venir.",
        ClaimState.PAID: "Payée.",
        ClaimState.REJECTED: "Rejetée.",
        ClaimState.WITHDRAWN: "Retirée.",
        ClaimState.LAPSED: "Caduque : la date limite est passée.",
    }[ClaimState(claim.state)]


@dataclass
class RecoveryView:
    """An undue-payment case as the operator reads it: the case (amounts in the terms paid, grounds,
    deadline, decision, order, state), its letters and attachments, and whether observations may be
    sent from this page now."""

    case: object
    observations_open: bool
    can_observe: bool
    letters: list
    attachments: list
    form: object = None


def recovery_views(*, recoveries, user, at=None):
    """`recoveries` (prefetched with their documents) as RecoveryView; only the claim's operator's own
    users may send observations (agents read)."""
    operator_id = operator_id_of(user)
    views = []
    for case in recoveries:
        documents = sorted(case.documents.all(), key=lambda d: (d.uploaded_at, d.pk))
        still_open = observation_period_open(case, at=at)
        views.append(
            RecoveryView(
                case=case,
                observations_open=still_open,
                can_observe=still_open and operator_id is not None and operator_id == case.claim.operator_id,
                letters=[d for d in documents if d.kind == DocumentKind.DECISION_LETTER],
                attachments=[d for d in documents if d.kind == DocumentKind.RECOVERY_OBSERVATIONS],
            )
        )
    return views


def claim_recoveries(*, claim, user, at=None):
    """Every recovery case of the claim, newest first, whatever its state (closed ones say how)."""
    recoveries = (
        selectors.recoveries_visible_to(user=user)
        .filter(claim=claim)
        .prefetch_related("documents")
        .order_by("-opened_at", "-pk")
    )
    return recovery_views(recoveries=recoveries, user=user, at=at)


def open_recoveries(*, user, operator, at=None):
    """The operator's running recovery cases (notified, decided, order issued), for the dashboard."""
    recoveries = (
        selectors.recoveries_visible_to(user=user)
        .filter(claim__operator=operator, state__in=OPEN_RECOVERY_STATES)
        .prefetch_related("documents")
        .order_by("observations_due", "pk")
    )
    return recovery_views(recoveries=recoveries, user=user, at=at)


def deadline_of(claim):
    return selectors.effective_deadline(operator=claim.operator, campaign=claim.campaign, kind=claim.kind)


@dataclass
class ClaimRow:
    claim: object
    amount: dict | None
    estimate: bool
    deadline: object
    deadline_open: bool
    missing: list
    next_step: str


@dataclass(frozen=True)
class NextDeadline:
    date: date
    what: str  # « répondre aux compléments demandés sur l'avance n° 12 »


def next_deadline(block, *, today):
    """The nearest date, today or later, on which this operator must act in the campaign: a correction
    due, a draft's filing deadline, or the deadline of a claim it may open now and has not filed.
    A claim filed and waiting for the agency (or paid) asks nothing of the operator: none of its dates
    count. None when nothing is due."""
    dates = []
    for row in block.rows:
        claim = row.claim
        name = f"{claim.get_kind_display().lower()} n° {claim.pk}"
        if claim.state == ClaimState.CHANGES_REQUESTED and claim.correction_due:
            dates.append(NextDeadline(claim.correction_due, f"répondre aux compléments demandés sur l'{name}"))
        elif claim.state == ClaimState.DRAFT and row.deadline_open:
            dates.append(NextDeadline(row.deadline, f"déposer la demande d'{name}"))
    for kind in block.creatable:
        deadline, still_open = block.deadlines[kind.label]
        if still_open:
            article = "d'avance" if kind == ClaimKind.ADVANCE else "de solde"
            dates.append(NextDeadline(deadline, f"créer et déposer la demande {article}"))
    upcoming = [d for d in dates if d.date >= today]
    return min(upcoming, key=lambda d: d.date) if upcoming else None


@dataclass
class CampaignBlock:
    campaign: object
    rows: list = field(default_factory=list)
    deadlines: dict = field(default_factory=dict)  # kind label -> (date, open)
    creatable: list = field(default_factory=list)  # ClaimKind the user may open now
    next_deadline: NextDeadline | None = None


def operator_or_404(user):
    """The operator `user` acts for; a 404 for whoever acts for none (an agent, a new account)."""
    operator = operator_selectors.operator_of(user=user)
    if operator is None:
        raise Http404
    return operator


def operator_for(user):
    operator_id = operator_id_of(user)
    if operator_id is None:
        return None
    return Operator.objects.prefetch_related("referencings").get(pk=operator_id)


def dashboard_blocks(*, user, operator, at=None):
    """The operator's campaigns: its claims with amount, deadline and what is missing, and what it may open."""
    at = at or timezone.now()
    claims = list(
        selectors.claims_visible_to(user=user)
        .filter(operator=operator)
        .select_related("operator")
        .prefetch_related("operator__referencings")
        .order_by("campaign__closure_date", "kind", "-created_at")
    )
    blocks = []
    for campaign in funding_selectors.campaigns():
        block = CampaignBlock(campaign=campaign)
        for kind in ClaimKind:
            deadline = selectors.effective_deadline(operator=operator, campaign=campaign, kind=kind)
            block.deadlines[kind.label] = (deadline, is_open(deadline, at=at))
        campaign_claims = [c for c in claims if c.campaign_id == campaign.pk]
        for claim in campaign_claims:
            claim.operator = operator  # share the prefetched operator
            breakdown = claim_breakdown(claim) if claim.amount is None else None
            amount, estimate = claim_amount(claim, breakdown)
            deadline = deadline_of(claim)
            block.rows.append(
                ClaimRow(
                    claim=claim,
                    amount=amount,
                    estimate=estimate,
                    deadline=claim.correction_due if claim.state == ClaimState.CHANGES_REQUESTED else deadline,
                    deadline_open=is_open(deadline, at=at),
                    missing=missing_for(claim=claim, user=user, at=at),
                    next_step=next_step(claim),
                )
            )
        live_kinds = {c.kind for c in campaign_claims if c.state not in ENDED_STATES}
        # What may be opened now is the workflow's rule (an advance in its window, a balance once the
        # advance is approved), never a copy of it.
        block.creatable = [
            kind
            for kind in ClaimKind
            if kind not in live_kinds
            and not workflow.may_open(Claim(operator=operator, campaign=campaign, kind=kind), actor=user, at=at)
        ]
        block.next_deadline = next_deadline(block, today=paris_today(at=at))
        upcoming = [d for d, still_open in block.deadlines.values() if still_open]
        if block.rows or upcoming:
            blocks.append(block)
    return blocks


@dataclass
class ChecklistItem:
    label: str
    ok: bool
    detail: str = ""
    document: object = None


def claim_checklist(*, claim, user, at=None):
    """(required proofs, other conditions) for the claim page: the submit guards of the workflow, each
    with its own label (a condition is never listed apart from the guard that checks it)."""
    at = at or timezone.now()
    latest = selectors.latest_documents(claim=claim)
    proofs = [
        # A proof counts once scanned clean (common.scanning): « en cours d'analyse » until then.
        ChecklistItem(
            label=DocumentKind(kind).label, ok=kind in latest and latest[kind].is_usable, document=latest.get(kind)
        )
        for kind in workflow.required_proof_kinds(claim)
    ]
    conditions = []
    for guard in workflow.filing_guards(claim):
        if guard is workflow.required_proofs_present:
            continue  # listed proof by proof above
        messages = guard(claim, actor=user, at=at)
        conditions.append(ChecklistItem(label=guard.label, ok=not messages, detail=" ".join(messages)))
    return proofs, conditions


def claim_page_context(*, claim, user, at=None):
    at = at or timezone.now()
    breakdown = claim_breakdown(claim)
    amount, estimate = claim_amount(claim, breakdown)
    abilities = claim_abilities(user=user, claim=claim, at=at)
    proofs, conditions = claim_checklist(claim=claim, user=user, at=at)
    deadline = deadline_of(claim)
    is_owner = operator_id_of(user) == claim.operator_id
    return {
        "claim": claim,
        "breakdown": breakdown,
        "amount": amount,
        "estimate": estimate,
        "abilities": abilities,
        "actions": [name for name in OPERATOR_ACTIONS if abilities.get(name)],
        "proofs": proofs,
        "conditions": conditions,
        "missing": missing_for(claim=claim, user=user, at=at),
        "deadline": deadline,
        "deadline_open": is_open(deadline, at=at),
        "next_step": next_step(claim),
        "documents": claim.documents.select_related("uploaded_by").order_by("kind", "-version"),
        "receipt": claim.documents.filter(kind=DocumentKind.RECEIPT).order_by("-version").first(),
        "events": claim.events.order_by("seq"),
        "recoveries": claim_recoveries(claim=claim, user=user, at=at),
        "can_edit_details": is_owner and claim.state in EDITABLE_STATES,
        "is_owner": is_owner,
        "today": paris_today(at=at),
    }
