"""Reads of the operators app, always scoped to who is asking."""

from common.audit import first_broken_link
from common.roles import Role, is_agent, operator_id_of
from operators.models import (
    Enrolment,
    EnrolmentDocument,
    Invitation,
    Membership,
    Operator,
    Webhook,
    WebhookDelivery,
)


def _is_agent(user):
    return is_agent(user, Role.INSTRUCTOR) or is_agent(user, Role.VALIDATOR)


def _operator_member_id(user):
    """The operator a non-staff user acts for, or None (agents never act as operators)."""
    if user is None or not user.is_authenticated or user.is_staff:
        return None
    return operator_id_of(user)


def operator_of(*, user):
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


def members_of(*, operator):
    return Membership.objects.filter(operator=operator).select_related("user").order_by("created_at")


def enrolments_visible_to(*, user):
    """Agents see every enrolment; a representative only their own; anonymous users nothing."""
    queryset = Enrolment.objects.select_related("user", "provider", "operator")
    if _is_agent(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(user=user)


def enrolment_documents_visible_to(*, user):
    queryset = EnrolmentDocument.objects.select_related("enrolment", "uploaded_by")
    if _is_agent(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(enrolment__user=user)


def latest_enrolment_documents(*, enrolment):
    """The newest version of each proof kind: {kind: EnrolmentDocument}."""
    latest = {}
    for document in enrolment.documents.order_by("kind", "-version"):
        latest.setdefault(document.kind, document)
    return latest


def open_enrolment_of(*, user):
    """The user's enrolment still waiting for a decision, or None."""
    return enrolments_visible_to(user=user).filter(user=user, state__in=("pending", "changes_requested")).first()


def invitations_visible_to(*, user):
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return Invitation.objects.none()
    return Invitation.objects.filter(operator_id=operator_id).select_related("invited_by", "accepted_by")


def webhooks_visible_to(*, user):
    """An operator's members see its hooks; nobody else (agents included) sees any."""
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return Webhook.objects.none()
    return Webhook.objects.filter(operator_id=operator_id)


def webhook_deliveries_visible_to(*, user):
    operator_id = _operator_member_id(user)
    if operator_id is None:
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(webhook__operator_id=operator_id).select_related("webhook")


def enrolment_audit_problem(*, enrolment):
    """A French description of the first inconsistency in the enrolment's history, or None."""
    return first_broken_link(
        parent=enrolment, events=list(enrolment.events.order_by("seq", "pk")), label=f"enrôlement n° {enrolment.pk}"
    )
