"""Paying a claim by hand (the batches and the bank's returns are in claims.payments)."""

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from claims import payments
from claims.models import Claim, PaymentAttempt
from claims.workflow import TRANSITIONS
from common.exceptions import InvalidInput
from common.formatting import paris_date
from funding.calendar import paris_today


def claim_mark_paid(
    *, claim: Claim, actor: User, reference: str, paid_on: date | None = None, at: datetime | None = None
) -> Claim:
    """Confirm the claim's payment by hand (four-eyes, never above the operator's funded total).

    `paid_on` (default today, Paris) is neither in the future nor before the approval. When the claim
    is in a live batch, that line is confirmed (its offsets settled, the batch settled once every line
    is); otherwise the payment was made outside any batch.
    """
    at = at or timezone.now()
    reference = (reference or "").strip()
    if not reference:
        message = "La référence du virement est obligatoire."
        raise InvalidInput(message, errors={"reference": [message]})
    today = paris_today(at=at)
    paid_on = paid_on or today
    if paid_on > today:
        message = f"La date de paiement ({paris_date(paid_on)}) ne peut pas être dans le futur."
        raise InvalidInput(message, errors={"paid_on": [message]})
    confirmed: dict[str, PaymentAttempt | None] = {}

    def record_payment(locked: Claim) -> dict[str, Any]:
        approved_on = timezone.localtime(locked.decided_at).date() if locked.decided_at else None
        if approved_on is not None and paid_on < approved_on:
            message = (
                f"La date de paiement ({paris_date(paid_on)}) ne peut pas précéder "
                f"l'approbation ({paris_date(approved_on)})."
            )
            raise InvalidInput(message, errors={"paid_on": [message]})
        _, confirmed["attempt"] = payments.record_settled_payment(
            claim=locked, paid_on=paid_on, reference=reference, recorded_by=actor, at=at
        )
        return {}

    def settle_batch(paid: Claim) -> None:
        attempt = confirmed.get("attempt")
        if attempt is not None:
            payments.batch_refresh(
                batch_id=attempt.batch_id, at=at, comment=f"Paiement de la demande n° {paid.pk} confirmé à la main."
            )

    return TRANSITIONS.fire(
        claim,
        "mark_paid",
        actor=actor,
        comment=f"Virement {reference}",
        at=at,
        prepare=record_payment,
        after=settle_batch,
    )
