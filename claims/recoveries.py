"""Undue payments (indus): the adversarial recovery procedure, one service per step.

notice → observations (default 30 days) → reasoned decision (confirmed / reduced / waived)
→ recovery order → recovered or offset against a later payment; a validator may cancel a
case opened in error. Each step locks the case and its claim, is logged as an event of the
claim (same hash chain as the claim's own transitions) and notifies the operator after commit.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from claims.enums import OPEN_RECOVERY_STATES, RecoveryDecision, RecoveryState
from claims.models import Payment, Recovery
from claims.services import _append_event, _lock, attach_decision_letter
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import euros
from common.roles import Role, is_agent
from funding.calendar import paris_today

REASON_REQUIRED = "Une motivation est obligatoire pour cette étape."


def _require(actor, role):
    if not is_agent(actor, role):
        raise NotAllowed()


def _required_text(value, field):
    value = (value or "").strip()
    if not value:
        raise InvalidInput(REASON_REQUIRED, code="comment_required", errors={field: [REASON_REQUIRED]})
    return value


def _lock_case(recovery, expected_states, step):
    locked_claim = _lock(recovery.claim)
    case = Recovery.objects.select_for_update(of=("self",)).get(pk=recovery.pk)
    if case.state not in expected_states:
        raise StateConflict(f"Étape « {step} » impossible : l'indu est « {case.get_state_display()} ».")
    return case, locked_claim


def _log(claim, actor, action, comment, at):
    _append_event(
        claim=claim, actor=actor, action=action, from_state=claim.state, to_state=claim.state, comment=comment, at=at
    )


def recoverable_amount(*, payments, exclude=None):
    """What may still be claimed back on `payments`: paid minus what open or settled cases already claim."""
    payment_ids = [p.pk for p in payments]
    paid = Payment.objects.filter(pk__in=payment_ids).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    others = Recovery.objects.filter(payments__in=payment_ids).exclude(
        state__in=(RecoveryState.CANCELLED, RecoveryState.WAIVED)
    )
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    claimed = sum((r.amount_due if r.amount_due is not None else r.amount_notified) for r in others.distinct())
    return paid - claimed


def recovery_proposal(*, claim, user, at=None):
    """What the notice form proposes for an advance on the agents' task list « indus à proposer »
    (`selectors.advances_to_recover`): the whole advance paid, still recoverable, and the grounds.
    None when the claim is not on that list."""
    from claims.selectors import advances_to_recover

    task = advances_to_recover(user=user, at=at).filter(pk=claim.pk).first()
    if task is None:
        return None
    payment = Payment.objects.get(claim=task)
    deadline = f"{task.balance_deadline:%d/%m/%Y}"
    return {
        "amount": recoverable_amount(payments=[payment]).quantize(Decimal("0.01")),
        "reason": f"avance payée, solde non déposé à la date limite du {deadline}.",
        "grounds": (
            f"Le solde n'a pas été déposé avant la date limite du {deadline} : les conditions du financement "
            f"ne sont pas justifiées et l'avance versée ({euros(payment.amount)}, virement {payment.reference}) "
            "doit être reversée."
        ),
    }


def recovery_open(*, claim, amount, grounds, actor, payments=None, observation_days=None, at=None):
    """Notify the operator of an undue amount with its grounds; opens the observations period."""
    at = at or timezone.now()
    _require(actor, Role.INSTRUCTOR)
    grounds = _required_text(grounds, "grounds")
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise InvalidInput("Le montant de l'indu doit être positif.", errors={"amount": ["Montant positif attendu."]})
    with transaction.atomic():
        locked = _lock(claim)
        if payments is None:
            payments = list(Payment.objects.filter(claim__operator=locked.operator, claim__campaign=locked.campaign))
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
        _log(
            locked,
            actor,
            "recovery_open",
            f"Indu n° {case.pk} notifié : {euros(amount)}. Motifs : {grounds} "
            f"Observations attendues avant le {case.observations_due:%d/%m/%Y}.",
            at,
        )
    return case


def recovery_record_observations(*, recovery, observations, actor, at=None):
    """Record the operator's observations (received by the agent, or filed by the operator itself)."""
    at = at or timezone.now()
    observations = _required_text(observations, "observations")
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.NOTIFIED,), "observations")
        from common.roles import has_role

        if not (is_agent(actor, Role.INSTRUCTOR) or has_role(actor, Role.OPERATOR, operator_id=claim.operator_id)):
            raise NotAllowed()
        case.observations = observations
        case.observations_received_at = at
        case.save(update_fields=["observations", "observations_received_at"])
        _log(claim, actor, "recovery_observations", f"Indu n° {case.pk} — observations : {observations}", at)
    return case


def recovery_decide(*, recovery, decision, reason, actor, amount=None, at=None):
    """The reasoned decision after the observations period (or once observations are received)."""
    at = at or timezone.now()
    _require(actor, Role.INSTRUCTOR)
    reason = _required_text(reason, "reason")
    decision = RecoveryDecision(decision)
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.NOTIFIED,), "décision")
        if case.observations_received_at is None and paris_today(at=at) <= case.observations_due:
            message = (
                f"Le délai d'observations court jusqu'au {case.observations_due:%d/%m/%Y} : "
                "la décision ne peut être prise avant, sauf observations reçues."
            )
            raise GuardFailed(message, errors={"guards": [message]})
        if decision == RecoveryDecision.CONFIRMED:
            due = case.amount_notified
        elif decision == RecoveryDecision.REDUCED:
            due = Decimal(amount if amount is not None else "0").quantize(Decimal("0.01"))
            if not (0 < due < case.amount_notified):
                message = f"Le montant réduit doit être compris entre 0 et {euros(case.amount_notified)} (exclus)."
                raise InvalidInput(message, errors={"amount": [message]})
        else:
            due = Decimal("0.00")
        case.decision = decision
        case.decision_reason = reason
        case.amount_due = due
        case.decided_by = actor
        case.decided_at = at
        case.state = RecoveryState.WAIVED if decision == RecoveryDecision.WAIVED else RecoveryState.DECIDED
        if case.state == RecoveryState.WAIVED:
            case.settled_at = at
        case.save()
        _log(
            claim,
            actor,
            "recovery_decision",
            f"Indu n° {case.pk} — {decision.label} : {euros(due)} à reverser. Motivation : {reason}",
            at,
        )
        paragraphs = [
            f"Par courrier du {timezone.localtime(case.opened_at):%d/%m/%Y}, nous vous avons notifié un indu de "
            f"{euros(case.amount_notified)} pour le motif suivant : {case.grounds}",
            f"Vos observations : {case.observations}"
            if case.observations
            else "Vous n'avez pas présenté d'observations.",
            f"Décision : {decision.label}. {reason}",
        ]
        if due > 0:
            paragraphs.append(
                f"Vous êtes redevable de la somme de {euros(due)}. Un ordre de reversement vous sera adressé."
            )
        attach_decision_letter(
            claim=claim, actor=actor, title="Décision relative à un indu", paragraphs=paragraphs, at=at
        )
    return case


def recovery_issue_order(*, recovery, reference, actor, at=None):
    at = at or timezone.now()
    _require(actor, Role.VALIDATOR)
    reference = _required_text(reference, "reference")
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.DECIDED,), "ordre de reversement")
        case.order_reference = reference
        case.order_issued_at = at
        case.state = RecoveryState.ORDER_ISSUED
        case.save(update_fields=["order_reference", "order_issued_at", "state"])
        _log(
            claim,
            actor,
            "recovery_order",
            f"Indu n° {case.pk} — ordre de reversement {reference} émis pour {euros(case.amount_due)}.",
            at,
        )
    return case


def recovery_settle(*, recovery, actor, note="", offset_payment=None, at=None):
    """Close an issued order: recovered (money received) or offset against a later payment."""
    at = at or timezone.now()
    _require(actor, Role.VALIDATOR)
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.ORDER_ISSUED,), "recouvrement")
        if offset_payment is not None:
            if offset_payment.claim.operator_id != claim.operator_id or offset_payment.pk in set(
                case.payments.values_list("pk", flat=True)
            ):
                message = "La compensation se fait sur un paiement ultérieur du même opérateur."
                raise InvalidInput(message, errors={"offset_payment": [message]})
            if offset_payment.amount < case.amount_due:
                message = (
                    f"Le paiement ({euros(offset_payment.amount)}) est inférieur à l'indu ({euros(case.amount_due)})."
                )
                raise InvalidInput(message, errors={"offset_payment": [message]})
            case.offset_payment = offset_payment
            case.state = RecoveryState.OFFSET
            text = f"compensé sur le paiement {offset_payment.reference}"
        else:
            case.state = RecoveryState.RECOVERED
            text = "recouvré"
        case.settled_at = at
        case.settlement_note = (note or "").strip()
        case.save(update_fields=["offset_payment", "state", "settled_at", "settlement_note"])
        _log(claim, actor, "recovery_settled", f"Indu n° {case.pk} {text} : {euros(case.amount_due)}. {note}", at)
    return case


def recovery_cancel(*, recovery, reason, actor, at=None):
    """A validator cancels a case opened in error (with a reason)."""
    at = at or timezone.now()
    _require(actor, Role.VALIDATOR)
    reason = _required_text(reason, "reason")
    with transaction.atomic():
        case, claim = _lock_case(recovery, OPEN_RECOVERY_STATES, "annulation")
        case.state = RecoveryState.CANCELLED
        case.settled_at = at
        case.settlement_note = reason
        case.save(update_fields=["state", "settled_at", "settlement_note"])
        _log(claim, actor, "recovery_cancelled", f"Indu n° {case.pk} annulé : {reason}", at)
    return case
