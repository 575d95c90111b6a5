"""The claim and payment-batch state machines, declared once (common.workflow gives the shape;
docs/spec/SPEC.md §4).

Each transition names its source states, target, the role that may fire it and its guards. A
guard is a function `(claim, *, actor, at) -> list[str]` returning, in French, what is missing;
an empty list means it passes. `TRANSITIONS.fire` (through `claims.services`) is the only code
that moves a claim; the API, the admin and the portal ask `claim_abilities` what is possible.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from claims import notifications, pricing, selectors
from claims.enums import UPLOADABLE_KINDS, BatchState, ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent, PaymentBatch, PaymentBatchEvent
from common import scanning
from common.audit import ChainedEvent, append_event
from common.formatting import euros, paris_date
from common.roles import AnyUser, Role
from common.workflow import Guard, Transition, Workflow
from common.workflow import failed_guards as failed_guards  # the portal's checklist reads a transition's guards
from funding import selectors as funding_selectors
from funding.calendar import is_open, paris_today
from operators import selectors as operator_selectors
from operators.models import Operator

S = ClaimState


# --- Guards -------------------------------------------------------------------------------
#
# A filing guard carries the label the portal's checklist shows (`@filing_condition`): the
# checklist is `filing_guards(claim)`, never a list of its own.


GuardT = TypeVar("GuardT", bound=Guard)


def filing_condition(label: str) -> Callable[[GuardT], GuardT]:
    def mark(guard: GuardT) -> GuardT:
        guard.__dict__["label"] = label  # a function attribute, read by the portal's checklist
        return guard

    return mark


def filing_day(at: datetime) -> date:
    return paris_today(at=at)


@filing_condition("Contrat opérateur MSSanté v2 contresigné par l'ANS")
def contract_countersigned(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    return operator_selectors.contract_v2_problems(operator=claim.operator, day=filing_day(at))


@filing_condition("Numéro de référencement ANS valide")
def referencing_valid(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    day = filing_day(at)
    if operator_selectors.referencing_valid_on(operator=claim.operator, day=day):
        return []
    return [f"L'opérateur n'a pas de numéro de référencement ANS valide au {paris_date(day)}."]


@filing_condition("Opérateur prestataire développeur et référencé Ségur")
def provider_referenced(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """A buyer buys the connector from a developer operator referenced on the filing day."""
    return operator_selectors.provider_problems(operator=claim.operator, day=filing_day(at))


def _missing_documents(claim: Claim, kinds: Iterable[str]) -> list[str]:
    present = selectors.latest_documents(claim=claim)
    return [f"Pièce manquante : {DocumentKind(kind).label}." for kind in kinds if kind not in present]


def required_proof_kinds(claim: Claim) -> list[DocumentKind]:
    """The proofs a claim needs before it is (re)submitted (the rule: claims.selectors)."""
    return selectors.required_proof_kinds(claim=claim)


def offered_proof_kinds(claim: Claim, *, at: datetime) -> list[DocumentKind]:
    """The proof kinds the portal offers to upload on `claim`, in this order: its required proofs, the
    signed contract v2 while an advance lacks a countersigned one, then the end clients' contracts and
    other pieces (what an agent may ask for in a correction request). The API still takes every
    uploadable kind."""
    kinds = list(required_proof_kinds(claim))
    if claim.kind == ClaimKind.ADVANCE and contract_countersigned(claim, actor=None, at=at):
        kinds.append(DocumentKind.CONTRACT_V2)
    return [*kinds, DocumentKind.END_CLIENT_CONTRACTS, DocumentKind.OTHER]


@filing_condition("Pièces justificatives déposées")
def required_proofs_present(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    return _missing_documents(claim, required_proof_kinds(claim))


@filing_condition("Pièces analysées par l'antivirus")
def proofs_scanned(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """Only clean proofs count: the latest version of each uploaded proof must not be in analysis
    nor quarantined (common.scanning)."""
    latest = [d for d in selectors.latest_documents(claim=claim).values() if d.kind in UPLOADABLE_KINDS]
    problems: list[str] = scanning.guard_problems(latest, label=lambda d: d.get_kind_display())
    return problems


@filing_condition("Avance approuvée")
def advance_approved(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    if selectors.approved_advance(operator=claim.operator, campaign=claim.campaign):
        return []
    return [
        "Le solde se demande une fois l'avance approuvée : déposez d'abord la demande d'avance et attendez "
        "son approbation."
    ]


def advance_paid_first(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """A balance is paid only after the advance: its amount deducts the advance granted."""
    if claim.kind != ClaimKind.BALANCE or selectors.paid_advance(operator=claim.operator, campaign=claim.campaign):
        return []
    return ["Le solde ne peut être payé qu'après le paiement de l'avance."]


@filing_condition("Lien https vers la documentation technique")
def technical_doc_https(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    url = (claim.technical_doc_url or "").strip()
    if url.lower().startswith("https://") and len(url) > len("https://"):
        return []
    return ["Le lien vers la documentation technique pour les éditeurs doit être une adresse https."]


@filing_condition("Déploiement avant la clôture et contact technique")
def deployment_declared(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    closure = claim.campaign.closure_date
    missing = []
    if claim.deployment_date is None:
        missing.append("Indiquez la date de déploiement du connecteur.")
    elif claim.deployment_date > closure:
        missing.append(
            f"Le connecteur doit être déployé au plus tard le {paris_date(closure)} (date de clôture) ; "
            f"date déclarée : {paris_date(claim.deployment_date)}."
        )
    if not claim.technical_contact_name.strip() or not claim.technical_contact_email.strip():
        missing.append("Indiquez le contact technique (nom et e-mail) pour les éditeurs.")
    if claim.operator.is_buyer:
        if claim.installation_date is None:
            missing.append("Indiquez la date d'installation figurant sur la facture du connecteur.")
        elif claim.installation_date > closure:
            missing.append(
                f"La facture doit attester une installation au plus tard le {paris_date(closure)} (date de clôture) ; "
                f"date déclarée : {paris_date(claim.installation_date)}."
            )
    return missing


@filing_condition("Nombres de BAL APP, ORG et PER établis")
def counts_established(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    basis = pricing.counting_basis(claim, at=at)
    lines = funding_selectors.count_lines_at(operator=claim.operator, basis=basis)
    missing = funding_selectors.missing_types(lines)
    if not missing:
        return []
    when = "à la date de clôture" if claim.kind == ClaimKind.BALANCE else "le jour du dépôt"
    return [
        f"Nombres de BAL non établis {when} ({basis.label}) pour : {', '.join(missing)}. "
        "Une saisie d'un agent, le fichier de comptage de l'ANS ou une extraction de l'Annuaire qui compte ce type "
        "est nécessaire (un zéro explicite compte)."
    ]


def filing_deadline_open(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    deadline = selectors.effective_deadline(operator=claim.operator, campaign=claim.campaign, kind=claim.kind)
    if is_open(deadline, at=at):
        return []
    return [f"La date limite de dépôt ({paris_date(deadline)}, 23 h 59, heure de Paris) est dépassée."]


def filing_deadline_passed(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    return [] if filing_deadline_open(claim, actor=actor, at=at) else ["La date limite n'est pas encore passée."]


@filing_condition("Période de dépôt ouverte")
def filing_window_open(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """An advance from the campaign's opening day, a balance after its closure day; both until the
    operator's effective deadline."""
    campaign, today = claim.campaign, filing_day(at)
    if claim.kind == ClaimKind.ADVANCE and today < campaign.opening_date:
        return [f"Les demandes d'avance s'ouvrent le {paris_date(campaign.opening_date)}."]
    if claim.kind == ClaimKind.BALANCE and today <= campaign.closure_date:
        return [
            f"Le solde se demande après la date de clôture ({paris_date(campaign.closure_date)}), sur les BAL "
            "comptées à cette date."
        ]
    return filing_deadline_open(claim, actor=actor, at=at)


FILING_GUARDS = {
    ClaimKind.ADVANCE: (
        contract_countersigned,
        referencing_valid,
        provider_referenced,
        required_proofs_present,
        proofs_scanned,
        counts_established,
    ),
    ClaimKind.BALANCE: (
        advance_approved,
        required_proofs_present,
        proofs_scanned,
        technical_doc_https,
        deployment_declared,
        counts_established,
    ),
}


def filing_guards(claim: Claim) -> tuple[Guard, ...]:
    """What a claim of this kind must satisfy when it is submitted: the guards of `submit`, in the
    order the portal's checklist shows them."""
    return (*FILING_GUARDS[ClaimKind(claim.kind)], filing_window_open)


def filing_requirements(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """Everything a claim must hold when it is (re)submitted, by kind (the window excepted: a
    correction may be answered after the deadline)."""
    return [message for guard in FILING_GUARDS[ClaimKind(claim.kind)] for message in guard(claim, actor=actor, at=at)]


def may_open(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """Creating a draft: an advance within its window; a balance once the advance is approved."""
    if claim.kind == ClaimKind.ADVANCE:
        return filing_window_open(claim, actor=actor, at=at)
    return advance_approved(claim, actor=actor, at=at) or filing_deadline_open(claim, actor=actor, at=at)


def no_mailbox_funded_twice(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
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


def negative_balance_after_paid_advance(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    """A balance below the advance is an undue payment, recovered from the advance actually paid:
    approve it once the advance is paid."""
    if claim.kind != ClaimKind.BALANCE or claim.amount is None or claim.amount >= 0:
        return []
    if selectors.paid_advance(operator=claim.operator, campaign=claim.campaign):
        return []
    return [
        "Le solde est négatif et l'avance n'est pas encore payée : enregistrez d'abord le paiement de l'avance, "
        "le trop-versé sera alors recouvré par une procédure d'indu."
    ]


def not_the_approver(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    if actor is not None and claim.approved_by_id == actor.pk:
        return ["Contrôle à quatre yeux : la personne qui a approuvé la demande ne peut pas la payer."]
    return []


def amount_payable(claim: Claim, *, actor: AnyUser, at: datetime) -> list[str]:
    if claim.amount is None or claim.amount_to_pay is None or claim.funded_total is None:
        return ["La demande n'a pas de montant calculé."]
    if claim.amount < 0:
        return ["Le montant est négatif : le trop-perçu relève d'une procédure d'indu, pas d'un paiement."]
    paid = selectors.total_paid_excl_vat(operator=claim.operator, campaign=claim.campaign)
    if paid + claim.amount > claim.funded_total:
        return [
            f"Paiement refusé : {euros(paid + claim.amount)} HT dépasserait le financement total de l'opérateur "
            f"({euros(claim.funded_total)} HT)."
        ]
    return []


# --- Transitions --------------------------------------------------------------------------


class ClaimWorkflow(Workflow[Claim]):
    model = Claim
    event_model = ClaimEvent
    noun = "la demande"
    stale_message = "La demande vient d'être modifiée par ailleurs ; rechargez-la."
    stamp_updated_at = True

    def lock(self, obj: Claim) -> Claim:
        return lock_claim(obj)

    def notify(self, event: ChainedEvent) -> None:
        notifications.schedule_event_notification(event.pk)

    def reload(self, obj: Claim) -> Claim:
        return Claim.objects.select_related("operator", "campaign").get(pk=obj.pk)


def lock_claim(claim: Claim) -> Claim:
    """Lock the operator, then the claim (always in this order, so two services never deadlock)."""
    Operator.objects.select_for_update().filter(pk=claim.operator_id).first()
    return (
        Claim.objects.select_for_update(of=("self",))
        .select_related("operator", "campaign", "campaign__schedule")
        .get(pk=claim.pk)
    )


def append_claim_event(*, claim: Claim, actor: User | None, action: str, comment: str, at: datetime) -> ClaimEvent:
    """A claim event that does not change its state (a proof, a letter, a recovery step), chained
    and notified like a transition's; the caller holds the lock on `claim`."""
    event = append_event(
        parent=claim,
        event_model=ClaimEvent,
        actor=actor,
        action=action,
        from_state=claim.state,
        to_state=claim.state,
        comment=comment,
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_event_notification(event.pk))
    return event


TRANSITIONS = ClaimWorkflow(
    *[
        Transition("submit", "Déposer la demande", (S.DRAFT,), S.SUBMITTED, Role.OPERATOR,
                   guards=(filing_requirements, filing_window_open)),
        Transition("take", "Prendre en charge", (S.SUBMITTED,), S.IN_REVIEW, Role.INSTRUCTOR),
        Transition("request_changes", "Demander des compléments", (S.IN_REVIEW,), S.CHANGES_REQUESTED,
                   Role.INSTRUCTOR, comment_required=True),
        Transition("resubmit", "Renvoyer la demande complétée", (S.CHANGES_REQUESTED,), S.SUBMITTED, Role.OPERATOR,
                   guards=(filing_requirements,)),
        Transition("approve", "Approuver", (S.IN_REVIEW,), S.APPROVED, Role.INSTRUCTOR,
                   guards=(no_mailbox_funded_twice, negative_balance_after_paid_advance)),
        Transition("reject", "Rejeter", (S.IN_REVIEW,), S.REJECTED, Role.INSTRUCTOR, comment_required=True),
        Transition("mark_paid", "Marquer comme payée", (S.APPROVED,), S.PAID, Role.VALIDATOR,
                   guards=(not_the_approver, advance_paid_first, amount_payable)),
        # A batch line confirmed or returned by the bank's file (claims.payments): fired by the import.
        Transition("confirm_payment", "Paiement confirmé par la banque", (S.APPROVED,), S.PAID, Role.SYSTEM,
                   guards=(advance_paid_first, amount_payable)),
        Transition("return_payment", "Virement retourné après comptabilisation", (S.PAID,), S.APPROVED,
                   Role.SYSTEM),
        Transition("reopen", "Rouvrir l'instruction", (S.REJECTED,), S.IN_REVIEW, Role.VALIDATOR,
                   comment_required=True),
        Transition("withdraw", "Retirer la demande", (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED), S.WITHDRAWN,
                   Role.OPERATOR),
        Transition("lapse", "Constater la caducité", (S.DRAFT,), S.LAPSED, Role.SYSTEM,
                   guards=(filing_deadline_passed,)),
    ]
)  # fmt: skip


# --- Payment batches (claims.payments) -----------------------------------------------------------
#
# One table like the claims': the validator marks a batch sent or cancels it (reason required); the
# bank's return files settle it (every line paid) or mark it partly returned (some line returned,
# possibly after booking). A batch is cancelled only while none of its lines is resolved.

B = BatchState


def no_line_resolved(batch: PaymentBatch, *, actor: AnyUser, at: datetime) -> list[str]:
    if batch.lines.exclude(state="ordered").exists():
        return ["Des lignes du lot sont déjà payées ou retournées : le lot ne peut plus être annulé."]
    return []


class BatchWorkflow(Workflow[PaymentBatch]):
    model = PaymentBatch
    event_model = PaymentBatchEvent
    noun = "le lot"
    stale_message = "Le lot vient d'être modifié par ailleurs ; rechargez-le."
    comment_message = "Un motif est obligatoire pour annuler un lot."
    comment_field = "reason"

    def lock(self, obj: PaymentBatch) -> PaymentBatch:
        return PaymentBatch.objects.select_for_update().get(pk=obj.pk)


BATCH_TRANSITIONS = BatchWorkflow(
    *[
        Transition("send", "Marquer comme transmis à la banque", (B.GENERATED,), B.SENT, Role.VALIDATOR),
        Transition("cancel", "Annuler le lot", (B.GENERATED, B.SENT), B.CANCELLED, Role.VALIDATOR,
                   guards=(no_line_resolved,), comment_required=True),
        Transition("settle", "Constater le règlement du lot", (B.GENERATED, B.SENT), B.SETTLED, Role.SYSTEM),
        Transition("partly_return", "Constater des virements retournés", (B.GENERATED, B.SENT, B.SETTLED),
                   B.PARTLY_RETURNED, Role.SYSTEM),
    ]
)  # fmt: skip


def correction_due_default(today: date) -> date:
    return today + timedelta(days=settings.CORRECTION_DUE_DAYS)
