"""Bank-details changes (issue 12): an operator's user asks to be paid on another account, with its
RIB; an agent (instructeur or valideur) validates or refuses it with a reason.

    pending ──validate (instructeur / valideur)──▶ validated   (IBAN and BIC copied onto the Operator)
    pending ──refuse (instructeur / valideur, reason)──▶ refused

Until validated, payments keep the details validated before (`operators.selectors.validated_bank_details`).
Every step is a hash-chained `BankDetailsEvent`, e-mailed to the operator (the request also to the agents).
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from common import scanning
from common.audit import ChainedEvent, append_event
from common.exceptions import DomainError, InvalidInput, NotAllowed, StateConflict
from common.roles import AnyUser, Role, has_role
from common.uploads import inspect_upload
from common.workflow import Transition, Workflow
from operators import notifications
from operators.enums import BankDetailsChangeState
from operators.models import BankDetailsChange, BankDetailsEvent, BankDetailsProof, Operator
from operators.services.fraud import fraud_signals_detect
from operators.services.messages import (
    BANK_DETAILS_PENDING,
    BANK_DETAILS_UNCHANGED,
    REFUSAL_REASON_REQUIRED,
    RIB_REQUIRED,
)
from operators.validators import validate_bic, validate_iban

logger = logging.getLogger("operators.services")


class BankDetailsWorkflow(Workflow[BankDetailsChange]):
    model = BankDetailsChange
    event_model = BankDetailsEvent
    noun = "la demande"
    stale_message = "La demande vient d'être modifiée par ailleurs ; rechargez-la."
    comment_message = REFUSAL_REASON_REQUIRED
    comment_field = "reason"

    def notify(self, event: ChainedEvent) -> None:
        notifications.schedule_bank_details_notification(event.pk)

    def reload(self, obj: BankDetailsChange) -> BankDetailsChange:
        return BankDetailsChange.objects.select_related("operator").get(pk=obj.pk)


S = BankDetailsChangeState
AGENTS = (Role.INSTRUCTOR, Role.VALIDATOR)


def rib_scanned(change: BankDetailsChange, *, actor: AnyUser, at: datetime) -> list[str]:
    """Only a RIB the antivirus cleared proves an account (common.scanning)."""
    proof = BankDetailsProof.objects.filter(change=change).first()
    problems: list[str] = scanning.guard_problems([proof] if proof else [], label=lambda d: "RIB")
    return problems


BANK_DETAILS_DECISIONS = BankDetailsWorkflow(
    Transition(
        "validate", "Valider les nouvelles coordonnées", (S.PENDING,), S.VALIDATED, AGENTS, guards=(rib_scanned,)
    ),
    Transition("refuse", "Refuser le changement", (S.PENDING,), S.REFUSED, AGENTS, comment_required=True),
)


def bank_details_abilities(*, user: AnyUser, change: BankDetailsChange) -> dict[str, bool]:
    """What `user` may do on `change` now: {"validate": bool, "refuse": bool} (admin buttons)."""
    return BANK_DETAILS_DECISIONS.abilities(user=user, obj=change)


def _clean(iban: str | None, bic: str | None, errors: dict[str, list[str]]) -> tuple[str, str]:
    iban = "".join((iban or "").split()).upper()
    bic = "".join((bic or "").split()).upper()
    for name, value, validator in (("iban", iban, validate_iban), ("bic", bic, validate_bic)):
        try:
            validator(value)
        except ValidationError as error:
            errors[name] = list(error.messages)
    return iban, bic


def append_bank_details_event(
    *,
    change: BankDetailsChange,
    actor: User | None,
    action: str,
    from_state: str,
    to_state: str,
    comment: str,
    at: datetime,
) -> BankDetailsEvent:
    event = append_event(
        parent=change,
        event_model=BankDetailsEvent,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_bank_details_notification(event.pk))
    return event


def bank_details_request(
    *,
    operator: Operator,
    actor: User,
    iban: str | None,
    bic: str | None,
    proof: UploadedFile | None,
    comment: str = "",
    at: datetime | None = None,
) -> BankDetailsChange:
    """One of the operator's users asks for its payments to go to (iban, bic), proved by `proof` (RIB).

    Before: `actor` is an active member of `operator` and no request of the operator is pending.
    After: a pending BankDetailsChange with its proof and a "request" event, fraud signals looked
    for on the IBAN and the file — or, on any error (bad IBAN/BIC, refused file), nothing at all.
    The operator's validated details are untouched until an agent validates.
    """
    at = at or timezone.now()
    if not has_role(actor, Role.OPERATOR, operator_id=operator.pk):
        raise NotAllowed()
    errors: dict[str, list[str]] = {}
    iban, bic = _clean(iban, bic, errors)
    if not errors and (iban, bic) == ((operator.iban or "").upper(), (operator.bic or "").upper()):
        errors["iban"] = [BANK_DETAILS_UNCHANGED]
    if proof is None:
        errors["proof"] = [RIB_REQUIRED]
    if errors:
        raise InvalidInput("Le changement de coordonnées bancaires est incomplet ou invalide.", errors=errors)
    try:
        inspection = inspect_upload(proof)
    except DomainError as error:
        raise type(error)(f"RIB : {error.message}", code=error.code, errors={"proof": [error.message]}) from None
    _content_type, _size, sha256, _name = inspection

    stored: tuple[Storage, str] | None = None
    try:
        with transaction.atomic():
            locked = Operator.objects.select_for_update().get(pk=operator.pk)
            if BankDetailsChange.objects.filter(operator=locked, state=S.PENDING).exists():
                raise StateConflict(BANK_DETAILS_PENDING, code="bank_details_pending")
            change = BankDetailsChange.objects.create(
                operator=locked,
                iban=iban,
                bic=bic,
                previous_iban=locked.iban,
                previous_bic=locked.bic,
                requested_by=actor,
                requested_at=at,
            )
            document = scanning.store_file(
                BankDetailsProof,
                content=proof,
                inspection=inspection,
                uploaded_by=actor,
                change=change,
            )
            stored = (document.file.storage, document.file.name)
            append_bank_details_event(
                change=change,
                actor=actor,
                action="request",
                from_state="",
                to_state=S.PENDING,
                comment=(comment or "").strip()
                or f"Nouveau compte demandé : IBAN se terminant par {iban[-4:]}, BIC {bic}.",
                at=at,
            )
            fraud_signals_detect(ibans=[iban], sha256s=[sha256], at=at)
    except IntegrityError:
        scanning.remove_files([stored] if stored else [], after="a rolled-back bank-details request")
        raise StateConflict(BANK_DETAILS_PENDING, code="bank_details_pending") from None
    except Exception:
        scanning.remove_files([stored] if stored else [], after="a rolled-back bank-details request")
        raise
    return change


def _decide(
    *,
    change: BankDetailsChange,
    name: str,
    actor: User,
    comment: str,
    at: datetime,
    after: Callable[[BankDetailsChange], object] | None = None,
) -> BankDetailsChange:
    def decision(locked: BankDetailsChange) -> dict[str, Any]:
        return {"decided_by": actor, "decided_at": at, "decision_reason": comment}

    return BANK_DETAILS_DECISIONS.fire(change, name, actor=actor, comment=comment, at=at, prepare=decision, after=after)


def bank_details_validate(
    *, change: BankDetailsChange, actor: User, comment: str = "", at: datetime | None = None
) -> BankDetailsChange:
    """An agent validates a pending request: IBAN and BIC are copied onto the Operator, which is paid
    on them from now on (the details a payment batch already froze are not touched)."""
    at = at or timezone.now()
    comment = (comment or "").strip()

    def copy_onto_operator(locked: BankDetailsChange) -> None:
        Operator.objects.filter(pk=locked.operator_id).update(iban=locked.iban, bic=locked.bic)

    validated = _decide(change=change, name="validate", actor=actor, comment=comment, at=at, after=copy_onto_operator)
    logger.info("bank details %s validated by %s for operator %s", validated.pk, actor.pk, validated.operator_id)
    return validated


def bank_details_refuse(
    *, change: BankDetailsChange, actor: User, reason: str, at: datetime | None = None
) -> BankDetailsChange:
    """An agent refuses a pending request (reason required): the operator keeps its validated details."""
    at = at or timezone.now()
    reason = (reason or "").strip()
    if not BANK_DETAILS_DECISIONS.may(actor, BANK_DETAILS_DECISIONS["refuse"], change):
        raise NotAllowed()
    if not reason:
        raise InvalidInput(REFUSAL_REASON_REQUIRED, errors={"reason": [REFUSAL_REASON_REQUIRED]})
    refused = _decide(change=change, name="refuse", actor=actor, comment=reason, at=at)
    logger.info("bank details %s refused by %s", refused.pk, actor.pk)
    return refused
