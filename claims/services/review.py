"""The agents' review of a claim: taking it, asking for corrections, approving (a balance below the
advance paid opens a recovery case), rejecting, reopening; each decision sends its letter."""

from datetime import date, datetime

from django.contrib.auth.models import User
from django.utils import timezone

from claims import recoveries, selectors
from claims.documents import attach_decision_letter
from claims.enums import ClaimKind
from claims.models import Claim
from claims.workflow import TRANSITIONS, correction_due_default
from common.exceptions import InvalidInput
from common.formatting import euros, vat_rate
from funding.calendar import paris_today


def claim_take(*, claim: Claim, actor: User, at: datetime | None = None) -> Claim:
    return TRANSITIONS.fire(claim, "take", actor=actor, at=at, prepare=lambda c: {"assigned_to": actor})


def claim_request_changes(
    *, claim: Claim, actor: User, comment: str, due: date | None = None, at: datetime | None = None
) -> Claim:
    at = at or timezone.now()
    due = due or correction_due_default(paris_today(at=at))
    if due <= paris_today(at=at):
        message = "La date de réponse attendue doit être postérieure à aujourd'hui."
        raise InvalidInput(message, errors={"due": [message]})
    return TRANSITIONS.fire(
        claim,
        "request_changes",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"correction_message": comment.strip(), "correction_due": due},
    )


def claim_approve(*, claim: Claim, actor: User, comment: str = "", at: datetime | None = None) -> Claim:
    """Approve, send the approval letter; a balance below the advance paid opens a recovery case."""
    at = at or timezone.now()

    def letter_and_recovery(approved: Claim) -> None:
        assert approved.amount is not None and approved.amount_to_pay is not None  # frozen at submission
        paragraphs = [
            f"Après instruction, votre demande est approuvée pour un montant de {euros(approved.amount)} HT, "
            f"soit {euros(approved.amount_to_pay)} à verser ({vat_words(approved)})."
            if approved.amount >= 0
            else "Après instruction, le solde définitif de votre financement est inférieur à l'avance versée.",
        ]
        if comment.strip():
            paragraphs.append(f"Observations de l'instructeur : {comment.strip()}")
        if approved.amount > 0:
            paragraphs.append("Le paiement sera effectué par virement sur le compte déclaré lors de l'enrôlement.")
        attach_decision_letter(
            claim=approved, actor=actor, title="Décision d'approbation", paragraphs=paragraphs, at=at
        )
        if approved.kind == ClaimKind.BALANCE and approved.amount < 0:
            advance = selectors.paid_advance(operator=approved.operator, campaign=approved.campaign)
            assert advance is not None  # the guard negative_balance_after_paid_advance
            # Stated and collected in the terms paid: VAT included where the advance carried VAT.
            recoveries.recovery_open(
                claim=approved,
                amount=-approved.amount_to_pay,
                grounds=(
                    f"Le financement définitif ({euros(approved.funded_total)} HT) est inférieur à l'avance "
                    f"versée ({euros(advance.amount_excl_vat)} HT, {euros(advance.amount)} versés) : "
                    f"la différence ({euros(-approved.amount)} HT, {euros(-approved.amount_to_pay)} "
                    f"{vat_words(approved)}) a été perçue à tort."
                ),
                payments=[advance],
                actor=actor,
                at=at,
            )

    return TRANSITIONS.fire(
        claim,
        "approve",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"approved_by": actor, "decided_at": at, "decision_reason": comment.strip()},
        after=letter_and_recovery,
    )


def claim_reject(*, claim: Claim, actor: User, comment: str, at: datetime | None = None) -> Claim:
    at = at or timezone.now()

    def letter(rejected: Claim) -> None:
        attach_decision_letter(
            claim=rejected,
            actor=actor,
            title="Décision de rejet",
            paragraphs=[
                "Après instruction, votre demande est rejetée pour le motif suivant :",
                comment.strip(),
                "Vous pouvez présenter un recours gracieux auprès de l'agence de paiement dans un délai de "
                "deux mois à compter de la réception de ce courrier.",
            ],
            at=at,
        )

    return TRANSITIONS.fire(
        claim,
        "reject",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"decided_at": at, "decision_reason": comment.strip()},
        after=letter,
    )


def vat_words(claim: Claim) -> str:
    """How a letter states the VAT of `claim`'s amount."""
    if not claim.vat:
        return "sans TVA"
    return f"dont TVA {vat_rate(claim.vat_rate)} : {euros(abs(claim.vat))}"


def claim_reopen(*, claim: Claim, actor: User, comment: str, at: datetime | None = None) -> Claim:
    return TRANSITIONS.fire(
        claim, "reopen", actor=actor, comment=comment, at=at, prepare=lambda c: {"approved_by": None}
    )
