"""The claim state machine (SPEC §4), declared once.

Each transition names its source states, target, the role that may fire it and its
guards. A guard is a function `(claim, *, actor, at) -> list[str]` returning, in French,
what is missing; an empty list means it passes. `claims.services` is the only code that
fires transitions; the API, the admin and the portal ask `claim_abilities` what is possible.

Why not django-fsm-2: its conditions return a bare boolean and see only the instance,
while our guards must say *what* is missing and be evaluated at a given instant (deadline
tests, the daily job); a table this size reads as plainly as decorators.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from claims import selectors
from claims.enums import ClaimKind, ClaimState, DocumentKind
from common.formatting import euros
from common.roles import Role
from funding import selectors as funding_selectors
from funding.calendar import is_open
from operators.enums import ContractStatus

S = ClaimState


# --- Guards -------------------------------------------------------------------------------


def contract_countersigned(claim, *, actor, at):
    if claim.operator.contracts.filter(status=ContractStatus.COUNTERSIGNED).exists():
        return []
    return ["Le contrat opérateur MSSanté v2 contresigné par l'ANS est manquant."]


def referencing_valid(claim, *, actor, at):
    if claim.operator.referencing_number:
        return []
    return ["L'opérateur n'a pas de numéro de référencement ANS valide."]


def _missing_documents(claim, kinds):
    present = selectors.latest_documents(claim=claim)
    return [f"Pièce manquante : {DocumentKind(kind).label}." for kind in kinds if kind not in present]


def required_proof_kinds(claim):
    """The proofs a claim needs before it is (re)submitted: the one list the guards, the API and
    the portal's checklist all use."""
    if claim.kind == ClaimKind.BALANCE:
        return [DocumentKind.CONFORMITY_COMMITMENT]
    if claim.operator.is_buyer:
        return [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
    return [DocumentKind.CONFORMITY_REPORT]


def required_proofs_present(claim, *, actor, at):
    return _missing_documents(claim, required_proof_kinds(claim))


def advance_paid(claim, *, actor, at):
    if selectors.paid_advance(operator=claim.operator, campaign=claim.campaign):
        return []
    return ["L'avance doit avoir été payée avant de demander le solde."]


def technical_doc_https(claim, *, actor, at):
    url = (claim.technical_doc_url or "").strip()
    if url.lower().startswith("https://") and len(url) > len("https://"):
        return []
    return ["Le lien vers la documentation technique pour les éditeurs doit être une adresse https."]


def counts_recorded(claim, *, actor, at):
    if funding_selectors.counts_at(operator=claim.operator, day=claim.campaign.closure_date) is not None:
        return []
    closure = claim.campaign.closure_date
    return [f"Les nombres de BAL au {closure:%d/%m/%Y} (date de clôture) ne sont pas encore établis."]


def filing_deadline_open(claim, *, actor, at):
    deadline = selectors.effective_deadline(operator=claim.operator, campaign=claim.campaign, kind=claim.kind)
    if is_open(deadline, at=at):
        return []
    return [f"La date limite de dépôt ({deadline:%d/%m/%Y}, 23 h 59, heure de Paris) est dépassée."]


def filing_deadline_passed(claim, *, actor, at):
    return [] if filing_deadline_open(claim, actor=actor, at=at) else ["La date limite n'est pas encore passée."]


def filing_requirements(claim, *, actor, at):
    """Everything a claim must hold when it is (re)submitted, by kind."""
    if claim.kind == ClaimKind.ADVANCE:
        guards = (contract_countersigned, referencing_valid, required_proofs_present, counts_recorded)
    else:
        guards = (advance_paid, required_proofs_present, technical_doc_https, counts_recorded)
    return [message for guard in guards for message in guard(claim, actor=actor, at=at)]


def no_mailbox_funded_twice(claim, *, actor, at):
    """Re-checked at approval: another operator's claim may have been approved since this one froze
    its counts, with addresses of a park that changed hands."""
    funded = (
        type(claim)
        .objects.filter(campaign=claim.campaign, state__in=(S.APPROVED, S.PAID))
        .exclude(operator=claim.operator)
        .values_list("operator_id", flat=True)
    )
    twice = funding_selectors.counted_elsewhere(
        campaign=claim.campaign, operator=claim.operator, other_operator_ids=set(funded)
    )
    if not twice:
        return []
    return [
        f"{twice} BAL comptées dans cette demande ont été financées entre-temps pour un autre opérateur : "
        "demandez des compléments pour que l'opérateur renvoie sa demande (le montant sera recalculé)."
    ]


def not_the_approver(claim, *, actor, at):
    if actor is not None and claim.approved_by_id == actor.pk:
        return ["Contrôle à quatre yeux : la personne qui a approuvé la demande ne peut pas la payer."]
    return []


def amount_payable(claim, *, actor, at):
    if claim.amount is None:
        return ["La demande n'a pas de montant calculé."]
    if claim.amount < 0:
        return ["Le montant est négatif : le trop-perçu relève d'une procédure d'indu, pas d'un paiement."]
    paid = selectors.total_paid(operator=claim.operator, campaign=claim.campaign)
    if paid + claim.amount > claim.funded_total:
        return [
            f"Paiement refusé : {euros(paid + claim.amount)} dépasserait le financement total de l'opérateur "
            f"({euros(claim.funded_total)})."
        ]
    return []


# --- Transitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple
    target: str
    role: str
    guards: tuple = ()
    comment_required: bool = False


TRANSITIONS = {
    t.name: t
    for t in [
        Transition("submit", "Déposer la demande", (S.DRAFT,), S.SUBMITTED, Role.OPERATOR,
                   guards=(filing_requirements, filing_deadline_open)),
        Transition("take", "Prendre en charge", (S.SUBMITTED,), S.IN_REVIEW, Role.INSTRUCTOR),
        Transition("request_changes", "Demander des compléments", (S.IN_REVIEW,), S.CHANGES_REQUESTED,
                   Role.INSTRUCTOR, comment_required=True),
        Transition("resubmit", "Renvoyer la demande complétée", (S.CHANGES_REQUESTED,), S.SUBMITTED, Role.OPERATOR,
                   guards=(filing_requirements,)),
        Transition("approve", "Approuver", (S.IN_REVIEW,), S.APPROVED, Role.INSTRUCTOR,
                   guards=(no_mailbox_funded_twice,)),
        Transition("reject", "Rejeter", (S.IN_REVIEW,), S.REJECTED, Role.INSTRUCTOR, comment_required=True),
        Transition("mark_paid", "Marquer comme payée", (S.APPROVED,), S.PAID, Role.VALIDATOR,
                   guards=(not_the_approver, amount_payable)),
        Transition("reopen", "Rouvrir l'instruction", (S.REJECTED,), S.IN_REVIEW, Role.VALIDATOR,
                   comment_required=True),
        Transition("withdraw", "Retirer la demande", (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED), S.WITHDRAWN,
                   Role.OPERATOR),
        Transition("lapse", "Constater la caducité", (S.DRAFT,), S.LAPSED, Role.SYSTEM,
                   guards=(filing_deadline_passed,)),
    ]
}  # fmt: skip


def failed_guards(transition, claim, *, actor, at):
    return [message for guard in transition.guards for message in guard(claim, actor=actor, at=at)]


def correction_due_default(today):
    return today + timedelta(days=settings.CORRECTION_DUE_DAYS)
