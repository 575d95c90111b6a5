"""What the portal pages show, computed from selectors and the workflow's guards (reads only)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.http import FileResponse, Http404
from django.utils import timezone

from claims import selectors, workflow
from claims.enums import EDITABLE_STATES, ENDED_STATES, ClaimKind, ClaimState, DocumentKind
from claims.services import claim_abilities
from common.roles import operator_id_of
from funding import selectors as funding_selectors
from funding.calendar import is_open, paris_today
from funding.formula import compute_breakdown, with_vat
from operators.models import Operator

# The other filing conditions, each a guard of `claims.workflow` with the label the checklist shows.
CONDITIONS = {
    ClaimKind.ADVANCE: (
        ("Contrat opérateur MSSanté v2 contresigné par l'ANS", workflow.contract_countersigned),
        ("Numéro de référencement ANS valide", workflow.referencing_valid),
        ("Nombres de BAL établis à la date de clôture", workflow.counts_recorded),
        ("Date limite de dépôt non dépassée", workflow.filing_deadline_open),
    ),
    ClaimKind.BALANCE: (
        ("Avance payée", workflow.advance_paid),
        ("Lien https vers la documentation technique", workflow.technical_doc_https),
        ("Nombres de BAL établis à la date de clôture", workflow.counts_recorded),
        ("Date limite de dépôt non dépassée", workflow.filing_deadline_open),
    ),
}

# The transitions an operator fires from the portal, in the order their buttons appear.
OPERATOR_ACTIONS = ("submit", "resubmit", "withdraw")


def money(amount):
    """{"ht", "ttc"} for an excl.-VAT amount (None stays None)."""
    if amount is None:
        return None
    amount = Decimal(amount)
    return {"ht": amount, "ttc": with_vat(amount)}


@dataclass
class BreakdownView:
    """A breakdown as the claim page and the simulator show it (Decimal amounts, VAT beside)."""

    schedule: str
    lines: list
    base: dict
    subtotal: dict
    cap: dict
    capped: bool
    total: dict
    advance: dict
    balance: dict
    counts_as_of: str = ""
    advance_paid: dict | None = None
    amount: dict | None = None
    frozen: bool = True

    @classmethod
    def from_dict(cls, data, *, frozen):
        lines = [
            {
                "type": line["type"],
                "count": line["count"],
                "rate": money(line["rate"]),
                "amount": money(line["amount"]),
            }
            for line in data["lines"]
        ]
        return cls(
            schedule=data["schedule"],
            lines=lines,
            base=money(data["base"]),
            subtotal=money(data["subtotal"]),
            cap=money(data["cap"]),
            capped=data["capped"],
            total=money(data["total"]),
            advance=money(data["advance"]),
            balance=money(data["balance"]),
            counts_as_of=_french_date(data.get("counts_as_of", "")),
            advance_paid=money(data["advance_paid"]) if data.get("advance_paid") is not None else None,
            amount=money(data["amount"]) if data.get("amount") is not None else None,
            frozen=frozen,
        )


def _french_date(iso):
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return iso or ""


def claim_breakdown(claim):
    """The frozen breakdown of a filed claim, or an estimate for a draft (None without counts)."""
    if claim.breakdown:
        return BreakdownView.from_dict(claim.breakdown, frozen=True)
    closure = claim.campaign.closure_date
    counts = funding_selectors.counts_at(operator=claim.operator, day=closure)
    if counts is None:
        return None
    data = compute_breakdown(schedule=claim.campaign.schedule, counts=counts).as_dict()
    data["counts_as_of"] = closure.isoformat()
    if claim.kind == ClaimKind.ADVANCE:
        data["amount"] = data["advance"]
    else:
        advance = selectors.paid_advance(operator=claim.operator, campaign=claim.campaign)
        paid = advance.amount if advance else Decimal("0")
        data["advance_paid"] = f"{paid:.2f}"
        data["amount"] = f"{Decimal(data['total']) - paid:.2f}"
    return BreakdownView.from_dict(data, frozen=False)


def claim_amount(claim, breakdown=None):
    """(amount {"ht", "ttc"} or None, is_estimate)."""
    if claim.amount is not None:
        return money(claim.amount), False
    breakdown = breakdown if breakdown is not None else claim_breakdown(claim)
    if breakdown is None or breakdown.amount is None:
        return None, False
    return breakdown.amount, True


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


@dataclass
class CampaignBlock:
    campaign: object
    rows: list = field(default_factory=list)
    deadlines: dict = field(default_factory=dict)  # kind label -> (date, open)
    creatable: list = field(default_factory=list)  # ClaimKind the user may open now
    next_deadline: object = None


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
        block.creatable = [kind for kind in ClaimKind if kind not in live_kinds and block.deadlines[kind.label][1]]
        upcoming = [d for d, still_open in block.deadlines.values() if still_open]
        block.next_deadline = min(upcoming) if upcoming else None
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
    """(required proofs, other conditions) for the claim page."""
    at = at or timezone.now()
    latest = selectors.latest_documents(claim=claim)
    proofs = [
        ChecklistItem(label=DocumentKind(kind).label, ok=kind in latest, document=latest.get(kind))
        for kind in workflow.required_proof_kinds(claim)
    ]
    conditions = []
    for label, guard in CONDITIONS[ClaimKind(claim.kind)]:
        messages = guard(claim, actor=user, at=at)
        conditions.append(ChecklistItem(label=label, ok=not messages, detail=" ".join(messages)))
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
        "events": claim.events.order_by("seq"),
        "can_edit_details": is_owner and claim.state in EDITABLE_STATES,
        "is_owner": is_owner,
        "today": paris_today(at=at),
    }


def attachment_response(document):
    """A stored proof sent as an attachment (never rendered inline), with its sanitised display name."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
