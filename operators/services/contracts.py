"""Contract v2 (docs/spec/SPEC.md §1, §4): a signed copy uploaded by the operator becomes a task for ANS,
and an agent records ANS's countersignature in one step."""

import logging
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from common.exceptions import InvalidInput, NotAllowed, StateConflict
from common.formatting import paris_date
from common.roles import actor_label, is_any_agent
from operators.enums import ContractStatus
from operators.models import ContractV2, Operator
from operators.selectors import live_contract_of

logger = logging.getLogger("operators.services")

COUNTERSIGN_NOT_AWAITING = "Ce contrat n'attend pas de contre-signature : il est « {status} »."
COUNTERSIGN_BEFORE_SIGNATURE = "La contre-signature ne peut précéder la signature de l'opérateur ({signed_on})."
COUNTERSIGN_IN_FUTURE = "La date de contre-signature ne peut pas être dans le futur."


def contract_v2_signed_uploaded(
    *,
    operator: Operator,
    actor: User | None,
    at: datetime | None = None,
    document_label: str = "",
    document_sha256: str = "",
) -> tuple[ContractV2, bool]:
    """A signed contract v2 was uploaded for `operator` (claim or enrolment proof): record a contract
    "signed by the operator, awaiting ANS countersignature", dated the upload day (Paris time).

    Nothing is created when the operator already has a live contract (signed or countersigned,
    not terminated). Runs in the caller's transaction (the operator row is locked so that two
    concurrent uploads create one contract). Returns (contract, created).
    """
    at = at or timezone.now()
    with transaction.atomic():
        Operator.objects.select_for_update().filter(pk=operator.pk).first()
        live = live_contract_of(operator=operator)
        if live is not None:
            return live, False
        contract = ContractV2.objects.create(
            operator=operator,
            status=ContractStatus.SIGNED_BY_OPERATOR,
            signed_on=timezone.localdate(at),
            signed_document=document_label[:255],
            signed_document_sha256=document_sha256,
        )
    logger.info(
        "contract v2 %s signed by operator %s, uploaded by %s: awaiting ANS countersignature",
        contract.pk,
        operator.pk,
        actor_label(actor),
    )
    return contract, True


def contract_v2_countersign(
    *, contract: ContractV2, actor: User, countersigned_on: date | None = None, at: datetime | None = None
) -> ContractV2:
    """An agent (instructeur or valideur) records ANS's countersignature of `contract` on
    `countersigned_on` (default: today, Paris time).

    Before: the contract is signed by the operator and awaits countersignature; the date is not
    before the operator's signature nor in the future. After: status COUNTERSIGNED with the date,
    who recorded it and when. Raises NotAllowed, StateConflict, InvalidInput (field errors).
    """
    at = at or timezone.now()
    if not is_any_agent(actor):
        raise NotAllowed()
    today = timezone.localdate(at)
    countersigned_on = countersigned_on or today
    with transaction.atomic():
        locked = ContractV2.objects.select_for_update().select_related("operator").get(pk=contract.pk)
        if locked.status != ContractStatus.SIGNED_BY_OPERATOR or locked.terminated_on is not None:
            raise StateConflict(COUNTERSIGN_NOT_AWAITING.format(status=locked.get_status_display()))
        if countersigned_on < locked.signed_on:
            message = COUNTERSIGN_BEFORE_SIGNATURE.format(signed_on=paris_date(locked.signed_on))
            raise InvalidInput(message, errors={"countersigned_on": [message]})
        if countersigned_on > today:
            raise InvalidInput(COUNTERSIGN_IN_FUTURE, errors={"countersigned_on": [COUNTERSIGN_IN_FUTURE]})
        locked.status = ContractStatus.COUNTERSIGNED
        locked.countersigned_on = countersigned_on
        locked.countersigned_by = actor
        locked.countersigned_at = at
        locked.save(update_fields=["status", "countersigned_on", "countersigned_by", "countersigned_at"])
    logger.info(
        "contract v2 %s of operator %s countersigned on %s, recorded by %s",
        locked.pk,
        locked.operator_id,
        countersigned_on,
        actor_label(actor),
    )
    return locked
