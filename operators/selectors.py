"""Reads of the operators app, always scoped to who is asking."""

from collections.abc import Iterable, Sequence
from datetime import date

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from stdnum import bic as bic_check
from stdnum import iban as iban_check

from common.audit import first_broken_link
from common.formatting import paris_date
from common.roles import AnyUser, is_any_agent, operator_id_of
from operators.enums import BankDetailsChangeState, ContractStatus, OperatorKind, ReferencingStatus
from operators.models import (
    ApiToken,
    BankDetailsChange,
    BankDetailsEvent,
    BankDetailsProof,
    ContractV2,
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
    FraudFlag,
    Invitation,
    Membership,
    Operator,
    Webhook,
    WebhookDelivery,
)


def _operator_member_id(user: AnyUser) -> int | None:
    """The operator a non-staff user acts for, or None (agents never act as operators)."""
    if user is None or not user.is_authenticated or user.is_staff:
        return None
    return operator_id_of(user)


def operator_of(*, user: AnyUser) -> Operator | None:
    """The operator `user` acts for (with its provider and referencings), or None."""
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return None
    return (
        Operator.objects.select_related("provider")
        .prefetch_related("referencings", "contracts")
        .filter(pk=operator_id)
        .first()
    )


def members_of(*, operator: Operator) -> QuerySet[Membership]:
    return Membership.objects.filter(operator=operator).select_related("user").order_by("created_at")


def enrolments_visible_to(*, user: AnyUser) -> QuerySet[Enrolment]:
    """Agents see every enrolment; a representative only their own; anonymous users nothing."""
    queryset = Enrolment.objects.select_related("user", "provider", "operator")
    if is_any_agent(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(user=user)


def enrolment_documents_visible_to(*, user: AnyUser) -> QuerySet[EnrolmentDocument]:
    queryset = EnrolmentDocument.objects.select_related("enrolment", "uploaded_by")
    if is_any_agent(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(enrolment__user=user)


def latest_enrolment_documents(*, enrolment: Enrolment) -> dict[str, EnrolmentDocument]:
    """The newest version of each proof kind: {kind: EnrolmentDocument}."""
    latest: dict[str, EnrolmentDocument] = {}
    for document in enrolment.documents.order_by("kind", "-version"):
        latest.setdefault(document.kind, document)
    return latest


def open_enrolment_of(*, user: AnyUser) -> Enrolment | None:
    """The user's enrolment still waiting for a decision, or None."""
    if not isinstance(user, User):  # anonymous or nobody: no enrolment (and no `user=` lookup to build)
        return None
    return enrolments_visible_to(user=user).filter(user=user, state__in=("pending", "changes_requested")).first()


def invitations_visible_to(*, user: AnyUser) -> QuerySet[Invitation]:
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return Invitation.objects.none()
    return Invitation.objects.filter(operator_id=operator_id).select_related("invited_by", "accepted_by")


def webhooks_visible_to(*, user: AnyUser) -> QuerySet[Webhook]:
    """An operator's members see its hooks; nobody else (agents included) sees any."""
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return Webhook.objects.none()
    return Webhook.objects.filter(operator_id=operator_id)


def webhook_deliveries_visible_to(*, user: AnyUser) -> QuerySet[WebhookDelivery]:
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(webhook__operator_id=operator_id).select_related("webhook")


def api_tokens_visible_to(*, user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own API tokens (nobody sees another account's, agents included)."""
    if not (user and user.is_authenticated):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def enrolment_audit_problem(*, enrolment: Enrolment, events: Sequence[EnrolmentEvent] | None = None) -> str | None:
    """A French description of the first inconsistency in the enrolment's history (`events`, ordered
    by seq, read when not given), or None. Every enrolment is created with its first event."""
    return first_broken_link(
        parent=enrolment,
        events=list(enrolment.events.order_by("seq", "pk")) if events is None else events,
        label=f"enrôlement n° {enrolment.pk}",
        state=enrolment.state,
        needs_chain=True,
    )


# --- Eligibility on a given day (read by the claim guards, the admin and the portal) ---------------


def referencing_valid_on(*, operator: Operator, day: date) -> bool:
    """True when `operator` holds a VALID referencing granted on or before `day`.

    Reads `operator.referencings.all()`, so a prefetched list costs no query.
    """
    return any(r.status == ReferencingStatus.VALID and r.granted_on <= day for r in operator.referencings.all())


def provider_problems(*, operator: Operator, day: date) -> list[str]:
    """What keeps a buyer's provider from counting on `day`, in French; [] for a developer.

    A buyer must buy the connector from a developer operator holding a valid ANS referencing
    number on `day` (docs/spec/SPEC.md §4, "Buyer").
    """
    if operator.kind != OperatorKind.BUYER:
        return []
    rule = "un opérateur acheteur doit acheter le connecteur à un opérateur développeur référencé Ségur."
    provider = operator.provider
    if provider is None:
        return [f"L'opérateur acheteur {operator.legal_name} n'a pas d'opérateur prestataire : {rule}"]
    if provider.kind != OperatorKind.DEVELOPER:
        return [f"L'opérateur prestataire {provider.legal_name} n'est pas un opérateur développeur : {rule}"]
    if not referencing_valid_on(operator=provider, day=day):
        return [
            f"L'opérateur prestataire {provider.legal_name} n'a pas de numéro de référencement ANS valide "
            f"au {paris_date(day)} : {rule}"
        ]
    return []


def _countersigned_in_force(contract: ContractV2, day: date) -> bool:
    return (
        contract.status != ContractStatus.SIGNED_BY_OPERATOR
        and contract.countersigned_on is not None
        and contract.countersigned_on <= day
        and (contract.terminated_on is None or contract.terminated_on > day)
    )


def contract_v2_problems(*, operator: Operator, day: date) -> list[str]:
    """What is missing for `operator`'s contract v2 to be in force on `day`, in French; [] when a
    contract countersigned by ANS on or before `day` and not terminated by then exists.

    Reads `operator.contracts.all()` (prefetch-friendly). The message names the step missing:
    no signed contract uploaded, a signed one awaiting ANS countersignature, or a terminated one.
    """
    contracts = sorted(operator.contracts.all(), key=lambda c: (c.signed_on, c.pk or 0), reverse=True)
    if any(_countersigned_in_force(contract, day) for contract in contracts):
        return []
    label = "Le contrat opérateur MSSanté v2"
    for contract in contracts:
        if contract.status == ContractStatus.SIGNED_BY_OPERATOR:
            signed_on = paris_date(contract.signed_on)
            return [f"{label} signé par l'opérateur le {signed_on} attend la contre-signature de l'ANS."]
    for contract in contracts:
        if contract.countersigned_on and contract.countersigned_on > day and contract.terminated_on is None:
            return [
                f"{label} n'est contresigné par l'ANS que depuis le {paris_date(contract.countersigned_on)}, "
                f"après le {paris_date(day)}."
            ]
    for contract in contracts:
        if contract.terminated_on is not None:
            return [
                f"{label} a été résilié le {paris_date(contract.terminated_on)} : déposez un nouveau contrat signé, "
                "qui devra être contresigné par l'ANS."
            ]
    return [
        "Aucun contrat opérateur MSSanté v2 signé n'a été déposé : déposez le contrat signé "
        "(pièce « Contrat opérateur MSSanté v2 ») ; l'ANS le contresignera."
    ]


def live_contract_of(*, operator: Operator) -> ContractV2 | None:
    """The operator's contract signed or countersigned and not terminated, newest first, or None."""
    return (
        ContractV2.objects.filter(
            operator=operator,
            status__in=(ContractStatus.SIGNED_BY_OPERATOR, ContractStatus.COUNTERSIGNED),
            terminated_on__isnull=True,
        )
        .order_by("-signed_on", "-pk")
        .first()
    )


def contracts_awaiting_countersignature() -> QuerySet[ContractV2]:
    """The agents' to-do list: contracts signed by the operator that ANS has not countersigned yet."""
    return ContractV2.objects.filter(status=ContractStatus.SIGNED_BY_OPERATOR, terminated_on__isnull=True)


# --- Paying an operator ---------------------------------------------------------------------


def validated_bank_details(*, operator: Operator) -> tuple[str, str] | None:
    """(IBAN, BIC) an agent has validated for `operator`, compacted, or None when there is none.

    The Operator's IBAN and BIC are written only by the two validations — of the enrolment
    (`enrolment_validate`) and of a change request (`bank_details_validate`) — and are read-only
    in the admin, so they are the last validated details; a pending request is not paid. A
    payment batch freezes what this returns; nothing else decides which account is paid.
    """
    if not (iban_check.is_valid(operator.iban or "") and bic_check.is_valid(operator.bic or "")):
        return None
    return iban_check.compact(operator.iban), bic_check.compact(operator.bic)


def payment_blockers(*, operator: Operator) -> list[str]:
    """Why `operator` may not be put in a payment batch now, in French; [] when it may.

    No validated bank details, or an open fraud flag (shared IBAN, reused proof file) until an
    agent clears it with a reason.
    """
    blockers = []
    if validated_bank_details(operator=operator) is None:
        blockers.append(f"{operator.legal_name} : coordonnées bancaires absentes, invalides ou non validées.")
    flags = list(open_fraud_flags(operator=operator))
    if flags:
        kinds = " ; ".join(sorted({flag.get_kind_display() for flag in flags}))
        blockers.append(f"{operator.legal_name} : {len(flags)} signal(aux) de fraude à lever par un agent ({kinds}).")
    return blockers


# --- Bank-details changes and fraud signals ---------------------------------------------------------


def bank_details_changes_visible_to(*, user: AnyUser) -> QuerySet[BankDetailsChange]:
    """Agents see every request; an operator's members their operator's; anybody else nothing."""
    queryset = BankDetailsChange.objects.select_related("operator", "requested_by", "decided_by")
    if is_any_agent(user):
        return queryset
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return queryset.none()
    return queryset.filter(operator_id=operator_id)


def bank_details_proofs_visible_to(*, user: AnyUser) -> QuerySet[BankDetailsProof]:
    return BankDetailsProof.objects.filter(
        change__in=bank_details_changes_visible_to(user=user).values("pk")
    ).select_related("change")


def bank_details_audit_problem(
    *, change: BankDetailsChange, events: list[BankDetailsEvent] | None = None
) -> str | None:
    """A French description of the first inconsistency in the request's history (`events`, ordered by
    seq, read when not given), or None. Every request is created with its first event."""
    return first_broken_link(
        parent=change,
        events=list(change.events.order_by("seq", "pk")) if events is None else events,
        label=f"coordonnées bancaires n° {change.pk}",
        state=change.state,
        needs_chain=True,
    )


def pending_bank_details_change(*, operator: Operator) -> BankDetailsChange | None:
    return BankDetailsChange.objects.filter(operator=operator, state=BankDetailsChangeState.PENDING).first()


def open_fraud_flags(*, operator: Operator) -> QuerySet[FraudFlag]:
    """The open flags weighing on `operator`: its own, and those raised on its enrolments before validation."""
    return (
        FraudFlag.objects.filter(cleared_at__isnull=True)
        .filter(Q(operator=operator) | Q(operator__isnull=True, enrolment__operator=operator))
        .order_by("detected_at", "pk")
    )


def open_fraud_flags_of_enrolment(*, enrolment: Enrolment) -> QuerySet[FraudFlag]:
    """The open flags on an enrolment, or on the operator it created or will update (same SIREN)."""
    party = Q(enrolment=enrolment) | Q(operator__siren=enrolment.siren)
    if enrolment.operator_id:
        party |= Q(operator_id=enrolment.operator_id)
    return FraudFlag.objects.filter(cleared_at__isnull=True).filter(party).order_by("detected_at", "pk")


def fraud_warning(*, flags: Iterable[FraudFlag]) -> str:
    """The French warning the operator, enrolment and claim pages show for `flags`; "" when none."""
    flags = list(flags)
    if not flags:
        return ""
    lines = "\n".join(f"• {flag.get_kind_display()} : {flag.detail}" for flag in flags)
    return (
        f"⚠ {len(flags)} signal(aux) de fraude ouvert(s) — paiements suspendus jusqu'à leur levée motivée "
        f"par un agent (Signaux de fraude).\n{lines}"
    )
