"""Reads, always scoped to who is asking."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, DateField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.expressions import Combinable, Func
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import Exact

from claims.enums import (
    ENDED_STATES,
    LIVE_ATTEMPT_STATES,
    AttemptState,
    ClaimKind,
    ClaimState,
    DocumentKind,
    RecoveryState,
)
from claims.models import Claim, DeadlineExtension, Document, Payment, PaymentAttempt, PaymentBatch, Recovery
from common.formatting import masked_iban
from common.roles import AnyUser, is_any_agent, operator_id_of
from funding.calendar import paris_today
from funding.models import Campaign
from operators.models import Operator
from operators.selectors import payment_blockers, validated_bank_details


def claims_visible_to(*, user: AnyUser) -> QuerySet[Claim]:
    """Agents see every claim; an operator's user sees only its operator's claims; others nothing."""
    queryset = Claim.objects.select_related("operator", "campaign", "campaign__schedule", "assigned_to")
    if is_any_agent(user):
        return queryset
    operator_id = operator_id_of(user)
    if operator_id is None:
        return queryset.none()
    return queryset.filter(operator_id=operator_id)


def documents_visible_to(*, user: AnyUser) -> QuerySet[Document]:
    queryset = Document.objects.select_related("claim", "uploaded_by")
    if is_any_agent(user):
        return queryset
    operator_id = operator_id_of(user)
    if operator_id is None:
        return queryset.none()
    return queryset.filter(operator_id=operator_id)


def _effective_deadline_sql(*, kind: Combinable, campaign_path: str, extensions: QuerySet[DeadlineExtension]) -> Func:
    """The filing-deadline rule as one SQL expression, on a row that reaches its campaign by
    `campaign_path`: the campaign's deadline for `kind` (an expression on that row), or the latest
    `new_deadline` among `extensions` when it is later (an earlier extension changes nothing)."""
    campaign_deadline = Case(
        When(Exact(kind, Value(ClaimKind.ADVANCE)), then=F(f"{campaign_path}advance_deadline")),
        default=F(f"{campaign_path}balance_deadline"),
        output_field=DateField(),
    )
    latest = Subquery(extensions.order_by("-new_deadline").values("new_deadline")[:1], output_field=DateField())
    return Greatest(campaign_deadline, Coalesce(latest, campaign_deadline))


def with_effective_deadline(queryset: QuerySet[Claim]) -> QuerySet[Any]:
    """Annotate each claim with `effective_deadline`, its filing deadline (see `effective_deadline`),
    in the same query: for the admin column and filter and the daily jobs. (Typed Any: without
    django-stubs at run time, the annotated field cannot be declared to the type checker.)"""
    extensions = DeadlineExtension.objects.filter(
        operator=OuterRef("operator"), campaign=OuterRef("campaign"), kind=OuterRef("kind")
    )
    return queryset.annotate(
        effective_deadline=_effective_deadline_sql(kind=F("kind"), campaign_path="campaign__", extensions=extensions)
    )


def effective_deadline(*, operator: Operator, campaign: Campaign, kind: str) -> date:
    """The campaign's filing deadline for `kind`, or a later one granted to this operator (one query,
    the same SQL as `with_effective_deadline`)."""
    extensions = DeadlineExtension.objects.filter(operator=operator, campaign=campaign, kind=kind)
    rule = _effective_deadline_sql(kind=Value(str(kind)), campaign_path="", extensions=extensions)
    deadline: date = (
        Campaign.objects.filter(pk=campaign.pk).annotate(deadline=rule).values_list("deadline", flat=True).get()
    )
    return deadline


def latest_documents(*, claim: Claim) -> dict[str, Document]:
    """The newest version of each proof kind on the claim: {kind: Document}."""
    latest: dict[str, Document] = {}
    for document in claim.documents.order_by("kind", "-version"):
        latest.setdefault(document.kind, document)
    return latest


def approved_advance(*, operator: Operator, campaign: Campaign) -> Claim | None:
    """The operator's advance once approved (paid or not): what a balance deducts and waits for."""
    return Claim.objects.filter(
        operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, state__in=(ClaimState.APPROVED, ClaimState.PAID)
    ).first()


def paid_advance(*, operator: Operator, campaign: Campaign) -> Payment | None:
    """The advance's settled payment (confirmed, not returned), or None: what a balance's payment waits for."""
    payment: Payment | None = (
        Payment.objects.settled()
        .filter(
            claim__operator=operator,
            claim__campaign=campaign,
            claim__kind=ClaimKind.ADVANCE,
            claim__state=ClaimState.PAID,
        )
        .first()
    )
    return payment


def total_paid(*, operator: Operator, campaign: Campaign) -> Decimal:
    """What was transferred to the operator in the campaign (VAT included where it was paid)."""
    return Payment.objects.settled().filter(claim__operator=operator, claim__campaign=campaign).aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")


def total_paid_excl_vat(*, operator: Operator, campaign: Campaign) -> Decimal:
    """The excl.-VAT part of what was paid: compared with the funded total, itself excl. VAT."""
    return Payment.objects.settled().filter(claim__operator=operator, claim__campaign=campaign).aggregate(
        total=Sum("amount_excl_vat")
    )["total"] or Decimal("0")


def live_claim(*, operator: Operator, campaign: Campaign, kind: str) -> Claim | None:
    return Claim.objects.filter(operator=operator, campaign=campaign, kind=kind).exclude(state__in=ENDED_STATES).first()


def required_proof_kinds(*, claim: Claim) -> list[DocumentKind]:
    """The proofs a claim needs before it is (re)submitted: the one list the guards, the API and
    the portal's checklist all use."""
    if claim.kind == ClaimKind.BALANCE:
        return [DocumentKind.CONFORMITY_COMMITMENT]
    if claim.operator.is_buyer:
        return [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
    return [DocumentKind.CONFORMITY_REPORT]


# --- Payments: batches and their lines ---------------------------------------------------------------


def batches_visible_to(*, user: AnyUser) -> QuerySet[PaymentBatch]:
    """Agents (both roles) see every payment batch; nobody else sees any."""
    if is_any_agent(user):
        return PaymentBatch.objects.select_related("created_by")
    return PaymentBatch.objects.none()


def live_attempt(*, claim: Claim) -> PaymentAttempt | None:
    """The claim's batch line still ordered, or paid and not returned; None when the claim is payable
    (never ordered, or its last attempt was returned or cancelled with its batch)."""
    return PaymentAttempt.objects.select_related("batch").filter(claim=claim, state__in=LIVE_ATTEMPT_STATES).first()


def payable_claims() -> QuerySet[Claim]:
    """Approved claims without a live batch line: what a new batch may take (its guards still apply)."""
    live = PaymentAttempt.objects.filter(claim=OuterRef("pk"), state__in=LIVE_ATTEMPT_STATES)
    return Claim.objects.filter(state=ClaimState.APPROVED).exclude(Exists(live))


def offsettable_recoveries(*, operator: Operator) -> QuerySet[Recovery]:
    """The operator's recovery orders issued and not yet taken by a line still ordered, oldest first:
    what its next payment offsets."""
    taken = PaymentAttempt.objects.filter(offset_recoveries=OuterRef("pk"), state=AttemptState.ORDERED)
    return (
        Recovery.objects.filter(claim__operator=operator, state=RecoveryState.ORDER_ISSUED, amount_due__gt=0)
        .exclude(Exists(taken))
        .order_by("order_issued_at", "pk")
    )


def payment_panel(*, claim: Claim) -> dict[str, Any]:
    """What the agent sees before paying a claim (the "Marquer comme payée" panel): the amounts, the
    account (frozen on the live line, else the operator's validated details), the batch and offsets,
    the earlier attempts returned, and what keeps the operator out of a batch."""
    attempt = live_attempt(claim=claim)
    if attempt is not None:
        iban, bic = attempt.iban, attempt.bic
        offsets = list(attempt.offset_recoveries.order_by("pk"))
    else:
        iban, bic = validated_bank_details(operator=claim.operator) or ("", "")
        offsets = list(offsettable_recoveries(operator=claim.operator)) if claim.state == ClaimState.APPROVED else []
    returned = list(
        claim.payment_attempts.filter(state=AttemptState.RETURNED).select_related("batch").order_by("-resolved_at")
    )
    return {
        "amount": claim.amount,
        "vat_rate": claim.vat_rate,
        "vat": claim.vat,
        "amount_to_pay": claim.amount_to_pay,
        "iban": masked_iban(iban),
        "bic": bic or "—",
        "attempt": attempt,
        "batch": attempt.batch if attempt else None,
        "offsets": offsets,
        "offset_total": sum((r.amount_due for r in offsets), Decimal("0")),
        "returned": returned,
        "blockers": payment_blockers(operator=claim.operator),
    }


# --- Undue payments ------------------------------------------------------------------------------

# A balance in one of these states was never filed (a draft) or no longer stands (withdrawn, lapsed).
UNFILED_STATES = (ClaimState.DRAFT, ClaimState.WITHDRAWN, ClaimState.LAPSED)


def advances_to_recover(*, user: AnyUser, at: datetime | None = None) -> QuerySet[Any]:
    """The agents' task « proposer un indu »: advances paid whose operator filed no balance by its
    effective balance deadline (Paris; extensions included, the same SQL as `effective_deadline`),
    and on which no recovery case was opened (a cancelled one does not count). Each row is
    annotated with `balance_deadline` (hence typed Any, as `with_effective_deadline`). Agents only;
    anyone else gets nothing."""
    if not is_any_agent(user):
        return Claim.objects.none()
    extensions = DeadlineExtension.objects.filter(
        operator=OuterRef("operator"), campaign=OuterRef("campaign"), kind=ClaimKind.BALANCE
    )
    filed_balance = Claim.objects.filter(
        operator=OuterRef("operator"), campaign=OuterRef("campaign"), kind=ClaimKind.BALANCE
    ).exclude(state__in=UNFILED_STATES)
    recovery = Recovery.objects.filter(Q(claim=OuterRef("pk")) | Q(payments__claim=OuterRef("pk"))).exclude(
        state=RecoveryState.CANCELLED
    )
    return (
        Claim.objects.filter(kind=ClaimKind.ADVANCE, state=ClaimState.PAID)
        .annotate(
            balance_deadline=_effective_deadline_sql(
                kind=Value(ClaimKind.BALANCE.value), campaign_path="campaign__", extensions=extensions
            )
        )
        .filter(balance_deadline__lt=paris_today(at=at))
        .exclude(Exists(filed_balance))
        .exclude(Exists(recovery))
    )


def recoveries_visible_to(*, user: AnyUser) -> QuerySet[Recovery]:
    """Agents see every recovery case; an operator's user those of its operator's claims; others none."""
    queryset = Recovery.objects.select_related("claim", "claim__operator", "claim__campaign")
    if is_any_agent(user):
        return queryset
    operator_id = operator_id_of(user)
    if operator_id is None:
        return queryset.none()
    return queryset.filter(claim__operator_id=operator_id)
