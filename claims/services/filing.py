"""Filing a claim: opening a draft, what it declares, submitting and resubmitting it (the amount is
frozen then), withdrawing it."""

from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from claims import pricing
from claims.documents import attach_receipt
from claims.enums import EDITABLE_STATES, ClaimKind, ClaimState
from claims.models import Claim
from claims.workflow import TRANSITIONS, append_claim_event, lock_claim, may_open
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import paris_date
from common.roles import Role, has_role, is_agent
from funding import services as funding_services
from funding.models import Campaign
from operators.models import Operator


def _frozen_computation(claim: Claim, *, at: datetime) -> dict[str, object]:
    """The amount and its inputs, frozen on the claim at (re)submission (claims.pricing).

    Mailboxes already counted in another operator's approved or paid claim of the campaign (a
    transferred park) are left out by funding, which records the addresses counted here. The
    filing guard has checked that every type is established.
    """
    funded_elsewhere = (
        Claim.objects.filter(campaign=claim.campaign, state__in=(ClaimState.APPROVED, ClaimState.PAID))
        .exclude(operator=claim.operator)
        .values_list("operator_id", flat=True)
    )
    basis = pricing.counting_basis(claim, at=at)
    frozen_counts = funding_services.claim_counts_freeze(
        campaign=claim.campaign, operator=claim.operator, basis=basis, funded_operator_ids=set(funded_elsewhere)
    )
    priced = pricing.price(claim, counts=frozen_counts.counts, sources=frozen_counts.sources, basis=basis)
    return priced.as_fields()


def claim_submit(*, claim: Claim, actor: User, at: datetime | None = None) -> Claim:
    """Submit a draft: the amount is frozen and the operator gets its receipt (attach_receipt)."""
    at = at or timezone.now()
    return TRANSITIONS.fire(
        claim,
        "submit",
        actor=actor,
        at=at,
        prepare=lambda c: {**_frozen_computation(c, at=at), "submitted_at": at},
        after=lambda c: attach_receipt(claim=c, actor=actor, resubmission=False, at=at),
    )


def claim_resubmit(*, claim: Claim, actor: User, comment: str = "", at: datetime | None = None) -> Claim:
    """Answer a correction request: the amount is frozen again and a new receipt is issued."""
    at = at or timezone.now()
    return TRANSITIONS.fire(
        claim,
        "resubmit",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {**_frozen_computation(c, at=at), "submitted_at": at},
        after=lambda c: attach_receipt(claim=c, actor=actor, resubmission=True, at=at),
    )


def claim_withdraw(*, claim: Claim, actor: User, comment: str = "", at: datetime | None = None) -> Claim:
    return TRANSITIONS.fire(claim, "withdraw", actor=actor, comment=comment, at=at)


def claim_create(
    *,
    operator: Operator,
    campaign: Campaign,
    kind: str,
    actor: User,
    technical_doc_url: str = "",
    at: datetime | None = None,
) -> Claim:
    """Open a draft claim for the operator; refused after the filing deadline or when one is live."""
    at = at or timezone.now()
    if not (has_role(actor, Role.OPERATOR, operator_id=operator.pk) or is_agent(actor, Role.INSTRUCTOR)):
        raise NotAllowed()
    claim = Claim(operator=operator, campaign=campaign, kind=ClaimKind(kind), technical_doc_url=technical_doc_url)
    missing = may_open(claim, actor=actor, at=at)
    if missing:
        raise GuardFailed(" ".join(missing), errors={"guards": missing})
    try:
        with transaction.atomic():
            claim.save()
            append_claim_event(
                claim=claim,
                actor=actor,
                action="create",
                comment="Demande créée.",
                at=at,
            )
    except IntegrityError:
        raise StateConflict(
            f"Une demande « {ClaimKind(kind).label} » est déjà en cours pour cet opérateur et cette campagne."
        ) from None
    return claim


# What a balance declares beside its proofs, with how the history writes each change.
DETAIL_FIELDS = {
    "technical_doc_url": "Lien de documentation technique",
    "deployment_date": "Date de déploiement du connecteur",
    "technical_contact_name": "Contact technique (nom)",
    "technical_contact_email": "Contact technique (e-mail)",
    "installation_date": "Date d'installation figurant sur la facture",
}


def _detail_text(value: object) -> str:
    if value in (None, ""):
        return "(vide)"
    return paris_date(value) if isinstance(value, date) else str(value)


def claim_update_details(
    *, claim: Claim, actor: User, at: datetime | None = None, **details: str | date | None
) -> Claim:
    """The operator fills in what a claim declares (DETAIL_FIELDS) while it is editable; only the
    fields given change, each change written in the history."""
    at = at or timezone.now()
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidInput(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    details = {name: value.strip() if isinstance(value, str) else value for name, value in details.items()}
    with transaction.atomic():
        locked = lock_claim(claim)
        if not has_role(actor, Role.OPERATOR, operator_id=locked.operator_id):
            raise NotAllowed()
        if locked.state not in EDITABLE_STATES:
            raise StateConflict("La demande ne peut plus être modifiée dans son état actuel.")
        changed = {name: value for name, value in details.items() if getattr(locked, name) != value}
        if changed:
            Claim.objects.filter(pk=locked.pk).update(**changed, updated_at=at)
            append_claim_event(
                claim=locked,
                actor=actor,
                action="update",
                comment=" ; ".join(f"{DETAIL_FIELDS[name]} : {_detail_text(value)}" for name, value in changed.items()),
                at=at,
            )
    return Claim.objects.get(pk=claim.pk)
