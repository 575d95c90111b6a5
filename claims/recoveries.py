"""Undue payments (indus): the adversarial recovery procedure, one service per step.

notice → observations (default 30 days) → reasoned decision (confirmed / reduced / waived)
→ recovery order → recovered or offset against a later payment; a validator may cancel a
case opened in error. The steps are a table (`RECOVERY_TRANSITIONS`) fired through the one
routine of common.workflow: each locks the claim and the case, is logged as an event of the
claim (same hash chain as the claim's own transitions) and notifies the operator after commit.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from claims.documents import attach_decision_letter, next_version, store_document
from claims.enums import OPEN_RECOVERY_STATES, DocumentKind, RecoveryDecision, RecoveryState
from claims.models import Claim, ClaimEvent, Document, Payment, Recovery
from claims.selectors import advances_to_recover
from claims.workflow import append_claim_event, lock_claim
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import euros, paris_date, paris_datetime
from common.roles import AnyUser, Role, is_agent
from common.uploads import inspect_upload
from common.workflow import Transition, Workflow
from funding.calendar import is_open, paris_today

REASON_REQUIRED = "Une motivation est obligatoire pour cette étape."
OBSERVATIONS_MAX_CHARS = 10_000
OBSERVATIONS_MAX_FILES = 10
OBSERVATIONS_TOO_LONG = f"Les observations ne peuvent dépasser {OBSERVATIONS_MAX_CHARS} caractères."
OBSERVATIONS_TOO_MANY_FILES = f"Joignez au plus {OBSERVATIONS_MAX_FILES} pièces à vos observations."


def observations_deadline_text(case: Recovery) -> str:
    return f"{paris_date(case.observations_due)} à 23 h 59 (heure de Paris)"


def observation_period_open(case: Recovery, *, at: datetime | None = None) -> bool:
    """True while the operator may still send observations on `case`: it awaits them (notified) and its
    deadline day (`observations_due`, inclusive, Paris) has not ended. The one rule for the portal
    form, the API, the service and the decision (which waits for the period to end)."""
    return case.state == RecoveryState.NOTIFIED and is_open(case.observations_due, at=at)


def _required_text(value: str | None, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(REASON_REQUIRED, code="comment_required", errors={field: [REASON_REQUIRED]})
    return value


# --- The table of steps ---------------------------------------------------------------------------


def observations_accepted(case: Recovery, *, actor: AnyUser, at: datetime) -> list[str]:
    """An operator's user sends observations until the deadline; an agent records those received
    otherwise at any time (a letter posted in time may arrive late)."""
    if is_agent(actor, Role.INSTRUCTOR) or observation_period_open(case, at=at):
        return []
    return [
        f"Le délai d'observations sur l'indu n° {case.pk} a expiré le {observations_deadline_text(case)} : "
        "vos observations ne peuvent plus être reçues. Une décision motivée vous sera notifiée."
    ]


def observation_period_over(case: Recovery, *, actor: AnyUser, at: datetime) -> list[str]:
    """The decision waits for the end of the observations period, unless observations were received."""
    if case.observations_received_at is None and observation_period_open(case, at=at):
        return [
            f"Le délai d'observations court jusqu'au {paris_date(case.observations_due)} : "
            "la décision ne peut être prise avant, sauf observations reçues."
        ]
    return []


class RecoveryWorkflow(Workflow[Recovery]):
    """A case's steps are logged in its claim's history: the claim is locked first, then the case."""

    model = Recovery
    noun = "l'indu"
    stale_message = "L'indu vient d'être modifié par ailleurs ; rechargez-le."
    comment_message = REASON_REQUIRED

    def lock(self, obj: Recovery) -> Recovery:
        claim = lock_claim(obj.claim)
        case = Recovery.objects.select_for_update(of=("self",)).get(pk=obj.pk)
        case.claim = claim
        return case

    def operator_id(self, obj: Recovery) -> int | None:
        return obj.claim.operator_id

    def refresh(self, locked: Recovery) -> None:
        claim = locked.claim  # keep the claim locked and read first (the chain's head is on it)
        locked.refresh_from_db()
        locked.claim = claim

    def append(
        self, locked: Recovery, *, transition: Transition, source: str, actor: User | None, comment: str, at: datetime
    ) -> ClaimEvent:
        return append_claim_event(
            claim=locked.claim, actor=actor, action=transition.event_action, comment=comment, at=at
        )


R = RecoveryState
# The offset steps are fired inside a payment's confirmation or return (claims.payments): by the
# validator who confirms it, or by the bank's return file (no actor).
RECOVERY_TRANSITIONS = RecoveryWorkflow(
    Transition("observations", "Enregistrer les observations de l'opérateur", (R.NOTIFIED,), R.NOTIFIED,
               (Role.OPERATOR, Role.INSTRUCTOR), guards=(observations_accepted,), action="recovery_observations",
               refusal=StateConflict, refusal_code="observations_closed"),
    Transition("decide", "Rendre la décision motivée", (R.NOTIFIED,), R.DECIDED, Role.INSTRUCTOR,
               guards=(observation_period_over,), action="recovery_decision"),
    Transition("waive", "Accorder la remise totale", (R.NOTIFIED,), R.WAIVED, Role.INSTRUCTOR,
               guards=(observation_period_over,), action="recovery_decision"),
    Transition("order", "Émettre l'ordre de reversement", (R.DECIDED,), R.ORDER_ISSUED, Role.VALIDATOR,
               action="recovery_order"),
    Transition("settle", "Constater le recouvrement ou la compensation", (R.ORDER_ISSUED,), R.RECOVERED,
               Role.VALIDATOR, action="recovery_settled"),
    Transition("offset", "Compenser sur un paiement", (R.ORDER_ISSUED,), R.OFFSET, (Role.VALIDATOR, Role.SYSTEM),
               action="recovery_settled"),
    Transition("reverse_offset", "Annuler la compensation", (R.OFFSET,), R.ORDER_ISSUED,
               (Role.VALIDATOR, Role.SYSTEM), action="recovery_offset_reversed"),
    Transition("cancel", "Annuler l'indu", OPEN_RECOVERY_STATES, R.CANCELLED, Role.VALIDATOR,
               action="recovery_cancelled"),
)  # fmt: skip


def recovery_abilities(*, user: AnyUser, recovery: Recovery, at: datetime | None = None) -> dict[str, bool]:
    """What `user` may do on `recovery` now: {step: bool} (admin buttons, portal, API)."""
    return RECOVERY_TRANSITIONS.abilities(user=user, obj=recovery, at=at)


def recovery_step_options(
    *, user: AnyUser, recovery: Recovery, at: datetime | None = None
) -> list[tuple[Transition, list[str]]]:
    """[(transition, missing)] for the steps `user` could take on `recovery` from its state."""
    return RECOVERY_TRANSITIONS.options(user=user, obj=recovery, at=at)


def recoverable_payments(*, claim: Claim) -> QuerySet[Payment]:
    """The settled payments of the claim's operator in its campaign: what a new case may claim back."""
    payments: QuerySet[Payment] = Payment.objects.settled().filter(
        claim__operator_id=claim.operator_id, claim__campaign_id=claim.campaign_id
    )
    return payments


def may_open_recovery(*, user: AnyUser, claim: Claim) -> bool:
    """An instructor opens a case on a claim whose operator was paid in the campaign."""
    return is_agent(user, Role.INSTRUCTOR) and recoverable_payments(claim=claim).exists()


def recoverable_amount(*, payments: Iterable[Payment], exclude: Recovery | None = None) -> Decimal:
    """What may still be claimed back on `payments`: paid minus what open or settled cases already claim."""
    payment_ids = [p.pk for p in payments]
    paid: Decimal = Payment.objects.settled().filter(pk__in=payment_ids).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0")
    others = Recovery.objects.filter(payments__in=payment_ids).exclude(
        state__in=(RecoveryState.CANCELLED, RecoveryState.WAIVED)
    )
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    claimed = sum((r.amount_due if r.amount_due is not None else r.amount_notified) for r in others.distinct())
    return paid - claimed


def recovery_proposal(*, claim: Claim, user: AnyUser, at: datetime | None = None) -> dict[str, Any] | None:
    """What the notice form proposes for an advance on the agents' task list « indus à proposer »
    (`selectors.advances_to_recover`): the whole advance paid, still recoverable, and the grounds.
    None when the claim is not on that list."""
    task = advances_to_recover(user=user, at=at).filter(pk=claim.pk).first()
    if task is None:
        return None
    payment = Payment.objects.get(claim=task)
    deadline = f"{paris_date(task.balance_deadline)}"
    return {
        "amount": recoverable_amount(payments=[payment]).quantize(Decimal("0.01")),
        "reason": f"avance payée, solde non déposé à la date limite du {deadline}.",
        "grounds": (
            f"Le solde n'a pas été déposé avant la date limite du {deadline} : les conditions du financement "
            f"ne sont pas justifiées et l'avance versée ({euros(payment.amount)}, virement {payment.reference}) "
            "doit être reversée."
        ),
    }


def recovery_open(
    *,
    claim: Claim,
    amount: Decimal | int | str,
    grounds: str,
    actor: User,
    payments: Sequence[Payment] | None = None,
    observation_days: int | None = None,
    at: datetime | None = None,
) -> Recovery:
    """Notify the operator of an undue amount with its grounds; opens the observations period."""
    at = at or timezone.now()
    if not is_agent(actor, Role.INSTRUCTOR):
        raise NotAllowed()
    grounds = _required_text(grounds, "grounds")
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise InvalidInput("Le montant de l'indu doit être positif.", errors={"amount": ["Montant positif attendu."]})
    with transaction.atomic():
        locked = lock_claim(claim)
        if payments is None:
            payments = list(recoverable_payments(claim=locked))
        if not payments:
            raise GuardFailed(
                "Aucun paiement n'a été versé : il n'y a rien à reverser.", errors={"guards": ["paiement"]}
            )
        if any(p.claim.operator_id != locked.operator_id for p in payments):
            raise InvalidInput("Les paiements concernés doivent être ceux de l'opérateur.", errors={"payments": ["?"]})
        ceiling = recoverable_amount(payments=payments)
        if amount > ceiling:
            message = (
                f"L'indu ({euros(amount)}) ne peut dépasser ce qui a été versé et reste réclamable ({euros(ceiling)})."
            )
            raise GuardFailed(message, errors={"amount": [message]})
        days = observation_days if observation_days is not None else settings.RECOVERY_OBSERVATION_DAYS
        case = Recovery.objects.create(
            claim=locked,
            state=RecoveryState.NOTIFIED,
            amount_notified=amount,
            grounds=grounds,
            observations_due=paris_today(at=at) + timedelta(days=days),
            opened_by=actor,
            opened_at=at,
        )
        case.payments.set(payments)
        append_claim_event(
            claim=locked,
            actor=actor,
            action="recovery_open",
            comment=f"Indu n° {case.pk} notifié : {euros(amount)}. Motifs : {grounds} "
            f"Observations attendues jusqu'au {observations_deadline_text(case)}.",
            at=at,
        )
        _letter(
            case,
            locked,
            actor,
            "Notification d'un indu",
            [
                f"Après examen de votre dossier, l'agence de paiement constate un indu de {euros(amount)} "
                "(montant tel que versé, TVA comprise le cas échéant) sur les paiements suivants : "
                + ", ".join(f"virement {p.reference} du {paris_date(p.paid_on)} ({euros(p.amount)})" for p in payments)
                + ".",
                f"Motifs : {grounds}",
                f"Vous pouvez présenter vos observations, avec les pièces utiles, jusqu'au "
                f"{observations_deadline_text(case)}, depuis la page de la demande n° {locked.pk} sur le portail "
                "des opérateurs ou par l'API. Passé ce délai, une décision motivée sera prise.",
            ],
            at,
        )
    return case


def _letter(
    case: Recovery, claim: Claim, actor: User | None, title: str, paragraphs: list[str], at: datetime
) -> Document:
    """A letter of the procedure (notice, decision), stored with the claim and linked to the case."""
    letter: Document = attach_decision_letter(claim=claim, actor=actor, title=title, paragraphs=paragraphs, at=at)
    Document.objects.filter(pk=letter.pk).update(recovery=case)
    return letter


def recovery_record_observations(
    *,
    recovery: Recovery,
    observations: str,
    actor: User,
    attachments: Iterable[UploadedFile] | None = (),
    at: datetime | None = None,
) -> Recovery:
    """Observations on a notified case, with optional attachments (PDF, PNG, JPEG checked by content).

    Sent by the operator's user (portal or API) until the observation deadline — then StateConflict
    (code "observations_closed") — or recorded by an instructor who received them otherwise (a letter
    posted in time may arrive late: the agent is not bound by the deadline). Every file is checked
    before anything is written; the attachments become documents of the claim linked to the case,
    each logged in the claim's history; the text is added to the case's observations (a later
    sending completes, never erases, an earlier one) and logged; the other side is e-mailed after
    commit (claims.notifications).
    """
    at = at or timezone.now()
    observations = _required_text(observations, "observations")
    if len(observations) > OBSERVATIONS_MAX_CHARS:
        raise InvalidInput(OBSERVATIONS_TOO_LONG, errors={"observations": [OBSERVATIONS_TOO_LONG]})
    attachments = list(attachments or ())
    if len(attachments) > OBSERVATIONS_MAX_FILES:
        raise InvalidInput(OBSERVATIONS_TOO_MANY_FILES, errors={"attachments": [OBSERVATIONS_TOO_MANY_FILES]})
    checked = [(upload, inspect_upload(upload)) for upload in attachments]
    stored: list[Document] = []

    def record(case: Recovery) -> dict[str, Any]:
        for upload, inspection in checked:
            _content_type, _size, sha256, name = inspection
            stored.append(
                store_document(
                    claim=case.claim,
                    actor=actor,
                    kind=DocumentKind.RECOVERY_OBSERVATIONS,
                    version=next_version(case.claim, DocumentKind.RECOVERY_OBSERVATIONS),
                    content=upload,
                    inspection=inspection,
                    action="document",
                    comment=f"Indu n° {case.pk} — pièce jointe aux observations : {name} (SHA-256 {sha256[:12]}…)",
                    at=at,
                )
            )
        Document.objects.filter(pk__in=[d.pk for d in stored]).update(recovery=case)
        if case.observations:
            text = f"{case.observations}\n\nComplément du {paris_datetime(at)} : {observations}"
        else:
            text = observations
        return {"observations": text, "observations_received_at": at}

    def comment(case: Recovery) -> str:
        source = "reçues par l'agence" if is_agent(actor, Role.INSTRUCTOR) else "transmises par l'opérateur"
        files = f" Pièces jointes : {', '.join(d.original_name for d in stored)}." if stored else ""
        return f"Indu n° {case.pk} — observations {source} : {observations}{files}"

    try:
        return RECOVERY_TRANSITIONS.fire(recovery, "observations", actor=actor, at=at, prepare=record, comment=comment)
    except Exception:
        for document in stored:  # no stored file outlives its rolled-back row
            document.file.storage.delete(document.file.name)
        raise


def recovery_decide(
    *,
    recovery: Recovery,
    decision: str,
    reason: str,
    actor: User,
    amount: Decimal | int | str | None = None,
    at: datetime | None = None,
) -> Recovery:
    """The reasoned decision after the observations period (or once observations are received)."""
    at = at or timezone.now()
    if not is_agent(actor, Role.INSTRUCTOR):
        raise NotAllowed()
    reason = _required_text(reason, "reason")
    decision = RecoveryDecision(decision)

    def decide(case: Recovery) -> dict[str, Any]:
        if decision == RecoveryDecision.CONFIRMED:
            due = case.amount_notified
        elif decision == RecoveryDecision.REDUCED:
            due = Decimal(amount if amount is not None else "0").quantize(Decimal("0.01"))
            if not (0 < due < case.amount_notified):
                message = f"Le montant réduit doit être compris entre 0 et {euros(case.amount_notified)} (exclus)."
                raise InvalidInput(message, errors={"amount": [message]})
        else:
            due = Decimal("0.00")
        fields: dict[str, Any] = {
            "decision": decision,
            "decision_reason": reason,
            "amount_due": due,
            "decided_by": actor,
        }
        fields["decided_at"] = at
        if decision == RecoveryDecision.WAIVED:
            fields["settled_at"] = at
        return fields

    def letter(case: Recovery) -> None:
        paragraphs = [
            f"Par courrier du {paris_date(case.opened_at)}, nous vous avons notifié un indu de "
            f"{euros(case.amount_notified)} pour le motif suivant : {case.grounds}",
            f"Vos observations : {case.observations}"
            if case.observations
            else "Vous n'avez pas présenté d'observations.",
            f"Décision : {decision.label}. {reason}",
        ]
        assert case.amount_due is not None  # set by `decide`
        if case.amount_due > 0:
            paragraphs.append(
                f"Vous êtes redevable de la somme de {euros(case.amount_due)}. "
                "Un ordre de reversement vous sera adressé."
            )
        _letter(case, case.claim, actor, "Décision relative à un indu", paragraphs, at)

    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "waive" if decision == RecoveryDecision.WAIVED else "decide",
        actor=actor,
        at=at,
        prepare=decide,
        comment=lambda case: (
            f"Indu n° {case.pk} — {decision.label} : {euros(case.amount_due)} à reverser. Motivation : {reason}"
        ),
        after=letter,
    )


def recovery_issue_order(*, recovery: Recovery, reference: str, actor: User, at: datetime | None = None) -> Recovery:
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    reference = _required_text(reference, "reference")
    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "order",
        actor=actor,
        at=at,
        prepare=lambda case: {"order_reference": reference, "order_issued_at": at},
        comment=lambda case: (
            f"Indu n° {case.pk} — ordre de reversement {reference} émis pour {euros(case.amount_due)}."
        ),
    )


def recovery_settle(
    *,
    recovery: Recovery,
    actor: User,
    note: str = "",
    offset_payment: Payment | None = None,
    at: datetime | None = None,
) -> Recovery:
    """Close an issued order: recovered (money received) or offset against a later payment."""
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    note = (note or "").strip()
    if offset_payment is None:
        return RECOVERY_TRANSITIONS.fire(
            recovery,
            "settle",
            actor=actor,
            at=at,
            prepare=lambda case: {"settled_at": at, "settlement_note": note},
            comment=lambda case: f"Indu n° {case.pk} recouvré : {euros(case.amount_due)}. {note}".strip(),
        )

    def offset(case: Recovery) -> dict[str, Any]:
        if offset_payment.claim.operator_id != case.claim.operator_id or offset_payment.pk in set(
            case.payments.values_list("pk", flat=True)
        ):
            message = "La compensation se fait sur un paiement ultérieur du même opérateur."
            raise InvalidInput(message, errors={"offset_payment": [message]})
        assert case.amount_due is not None  # an order is issued on a decided amount
        if offset_payment.amount < case.amount_due:
            message = f"Le paiement ({euros(offset_payment.amount)}) est inférieur à l'indu ({euros(case.amount_due)})."
            raise InvalidInput(message, errors={"offset_payment": [message]})
        return {"offset_payment": offset_payment, "settled_at": at, "settlement_note": note}

    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "offset",
        actor=actor,
        at=at,
        prepare=offset,
        comment=lambda case: (
            f"Indu n° {case.pk} compensé sur le paiement {offset_payment.reference} : {euros(case.amount_due)}. {note}"
        ).strip(),
    )


def recovery_cancel(*, recovery: Recovery, reason: str, actor: User, at: datetime | None = None) -> Recovery:
    """A validator cancels a case opened in error (with a reason)."""
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    reason = _required_text(reason, "reason")
    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "cancel",
        actor=actor,
        at=at,
        prepare=lambda case: {"settled_at": at, "settlement_note": reason},
        comment=lambda case: f"Indu n° {case.pk} annulé : {reason}",
    )


def recovery_offset_settle(
    *, recovery: Recovery, payment: Payment, actor: User | None, at: datetime | None = None
) -> Recovery:
    """Settle an issued order by offset against `payment`, the confirmed payment of the batch line that
    was reduced by it (claims.payments). Runs in the caller's transaction, which confirmed the payment
    (`actor` None: the bank's return file)."""
    at = at or timezone.now()
    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "offset",
        actor=actor,
        at=at,
        prepare=lambda case: {
            "offset_payment": payment,
            "settled_at": at,
            "settlement_note": f"Compensé sur le paiement {payment.reference} (demande n° {payment.claim_id}).",
        },
        comment=lambda case: (
            f"Indu n° {case.pk} compensé sur le paiement {payment.reference} de la demande n° {payment.claim_id} : "
            f"{euros(case.amount_due)}."
        ),
    )


def recovery_offset_reverse(
    *, recovery: Recovery, actor: User | None, reason: str, at: datetime | None = None
) -> Recovery:
    """The payment an indu was offset against came back from the bank: the order is open again
    (issued), to be offset on a later payment or recovered. Runs in the caller's transaction."""
    at = at or timezone.now()
    return RECOVERY_TRANSITIONS.fire(
        recovery,
        "reverse_offset",
        actor=actor,
        at=at,
        prepare=lambda case: {"offset_payment": None, "settled_at": None, "settlement_note": ""},
        comment=lambda case: f"Indu n° {case.pk} : compensation annulée, le paiement a été retourné. {reason}",
    )
