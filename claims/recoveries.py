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

from claims.enums import OPEN_RECOVERY_STATES, DocumentKind, RecoveryDecision, RecoveryState
from claims.models import Document, Payment, Recovery
from claims.services import _append_event, _lock, _next_version, _store_document, attach_decision_letter
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import euros, paris_datetime
from common.roles import Role, has_role, is_agent
from common.uploads import inspect_upload
from funding.calendar import is_open, paris_today

REASON_REQUIRED = "Une motivation est obligatoire pour cette étape."
OBSERVATIONS_MAX_CHARS = 10_000
OBSERVATIONS_MAX_FILES = 10
OBSERVATIONS_TOO_LONG = f"Les observations ne peuvent dépasser {OBSERVATIONS_MAX_CHARS} caractères."
OBSERVATIONS_TOO_MANY_FILES = f"Joignez au plus {OBSERVATIONS_MAX_FILES} pièces à vos observations."


def observations_deadline_text(case):
    return f"{case.observations_due:%d/%m/%Y} à 23 h 59 (heure de Paris)"


def observation_period_open(case, *, at=None):
    """True while the operator may still send observations on `case`: it awaits them (notified) and its
    deadline day (`observations_due`, inclusive, Paris) has not ended. The one rule for the portal
    form, the API, the service and the decision (which waits for the period to end)."""
    return case.state == RecoveryState.NOTIFIED and is_open(case.observations_due, at=at)


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
    paid = Payment.objects.settled().filter(pk__in=payment_ids).aggregate(total=Sum("amount"))["total"] or Decimal("0")
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
            payments = list(
                Payment.objects.settled().filter(claim__operator=locked.operator, claim__campaign=locked.campaign)
            )
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
            f"Observations attendues jusqu'au {observations_deadline_text(case)}.",
            at,
        )
        _letter(
            case,
            locked,
            actor,
            "Notification d'un indu",
            [
                f"Après examen de votre dossier, l'agence de paiement constate un indu de {euros(amount)} "
                "(montant tel que versé, TVA comprise le cas échéant) sur les paiements suivants : "
                + ", ".join(f"virement {p.reference} du {p.paid_on:%d/%m/%Y} ({euros(p.amount)})" for p in payments)
                + ".",
                f"Motifs : {grounds}",
                f"Vous pouvez présenter vos observations, avec les pièces utiles, jusqu'au "
                f"{observations_deadline_text(case)}, depuis la page de la demande n° {locked.pk} sur le portail "
                "des opérateurs ou par l'API. Passé ce délai, une décision motivée sera prise.",
            ],
            at,
        )
    return case


def _letter(case, claim, actor, title, paragraphs, at):
    """A letter of the procedure (notice, decision), stored with the claim and linked to the case."""
    letter = attach_decision_letter(claim=claim, actor=actor, title=title, paragraphs=paragraphs, at=at)
    Document.objects.filter(pk=letter.pk).update(recovery=case)
    return letter


def recovery_record_observations(*, recovery, observations, actor, attachments=(), at=None):
    """Observations on a notified case, with optional attachments (PDF, PNG, JPEG checked by content).

    Sent by the operator's user (portal or API) until the observation deadline — then StateConflict —
    or recorded by an instructor who received them otherwise (a letter posted in time may arrive
    late: the agent is not bound by the deadline). Every file is checked before anything is written;
    the attachments become documents of the claim linked to the case, each logged in the claim's
    history; the text is added to the case's observations (a later sending completes, never erases,
    an earlier one) and logged; the other side is e-mailed after commit (claims.notifications).
    """
    at = at or timezone.now()
    observations = _required_text(observations, "observations")
    if len(observations) > OBSERVATIONS_MAX_CHARS:
        raise InvalidInput(OBSERVATIONS_TOO_LONG, errors={"observations": [OBSERVATIONS_TOO_LONG]})
    attachments = list(attachments or ())
    if len(attachments) > OBSERVATIONS_MAX_FILES:
        raise InvalidInput(OBSERVATIONS_TOO_MANY_FILES, errors={"attachments": [OBSERVATIONS_TOO_MANY_FILES]})
    checked = [(upload, *inspect_upload(upload)) for upload in attachments]
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.NOTIFIED,), "observations")
        by_agent = is_agent(actor, Role.INSTRUCTOR)
        if not (by_agent or has_role(actor, Role.OPERATOR, operator_id=claim.operator_id)):
            raise NotAllowed()
        if not by_agent and not observation_period_open(case, at=at):
            raise StateConflict(
                f"Le délai d'observations sur l'indu n° {case.pk} a expiré le {observations_deadline_text(case)} : "
                "vos observations ne peuvent plus être reçues. Une décision motivée vous sera notifiée.",
                code="observations_closed",
            )
        stored = []
        try:
            for upload, content_type, size, sha256, name in checked:
                version = _next_version(claim, DocumentKind.RECOVERY_OBSERVATIONS)
                document = _store_document(
                    claim=claim,
                    actor=actor,
                    kind=DocumentKind.RECOVERY_OBSERVATIONS,
                    version=version,
                    name=name,
                    content=upload,
                    content_type=content_type,
                    size=size,
                    sha256=sha256,
                    action="document",
                    comment=f"Indu n° {case.pk} — pièce jointe aux observations : {name} (SHA-256 {sha256[:12]}…)",
                    at=at,
                )
                stored.append(document)
            Document.objects.filter(pk__in=[d.pk for d in stored]).update(recovery=case)
            if case.observations:
                case.observations = f"{case.observations}\n\nComplément du {paris_datetime(at)} : {observations}"
            else:
                case.observations = observations
            case.observations_received_at = at
            case.save(update_fields=["observations", "observations_received_at"])
            source = "reçues par l'agence" if by_agent else "transmises par l'opérateur"
            files = f" Pièces jointes : {', '.join(d.original_name for d in stored)}." if stored else ""
            comment = f"Indu n° {case.pk} — observations {source} : {observations}{files}"
            _log(claim, actor, "recovery_observations", comment, at)
        except Exception:
            for document in stored:  # no stored file outlives its rolled-back row
                document.file.storage.delete(document.file.name)
            raise
    return case


def recovery_decide(*, recovery, decision, reason, actor, amount=None, at=None):
    """The reasoned decision after the observations period (or once observations are received)."""
    at = at or timezone.now()
    _require(actor, Role.INSTRUCTOR)
    reason = _required_text(reason, "reason")
    decision = RecoveryDecision(decision)
    with transaction.atomic():
        case, claim = _lock_case(recovery, (RecoveryState.NOTIFIED,), "décision")
        if case.observations_received_at is None and observation_period_open(case, at=at):
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
        _letter(case, claim, actor, "Décision relative à un indu", paragraphs, at)
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


def recovery_offset_settle(*, recovery, payment, actor, at=None):
    """Settle an issued order by offset against `payment`, the confirmed payment of the batch line that
    was reduced by it (claims.payments). Runs in the caller's transaction, which confirmed the payment:
    the role was checked there (`actor` None: the bank's return file)."""
    at = at or timezone.now()
    case, claim = _lock_case(recovery, (RecoveryState.ORDER_ISSUED,), "compensation")
    case.offset_payment = payment
    case.state = RecoveryState.OFFSET
    case.settled_at = at
    case.settlement_note = f"Compensé sur le paiement {payment.reference} (demande n° {payment.claim_id})."
    case.save(update_fields=["offset_payment", "state", "settled_at", "settlement_note"])
    _log(
        claim,
        actor,
        "recovery_settled",
        f"Indu n° {case.pk} compensé sur le paiement {payment.reference} de la demande n° {payment.claim_id} : "
        f"{euros(case.amount_due)}.",
        at,
    )
    return case


def recovery_offset_reverse(*, recovery, actor, reason, at=None):
    """The payment an indu was offset against came back from the bank: the order is open again
    (issued), to be offset on a later payment or recovered. Runs in the caller's transaction."""
    at = at or timezone.now()
    case, claim = _lock_case(recovery, (RecoveryState.OFFSET,), "annulation de la compensation")
    case.offset_payment = None
    case.state = RecoveryState.ORDER_ISSUED
    case.settled_at = None
    case.settlement_note = ""
    case.save(update_fields=["offset_payment", "state", "settled_at", "settlement_note"])
    _log(
        claim,
        actor,
        "recovery_offset_reversed",
        f"Indu n° {case.pk} : compensation annulée, le paiement a été retourné. {reason}",
        at,
    )
    return case
