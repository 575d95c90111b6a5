"""Invitations: a member brings colleagues into the operator's account."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone

from common.exceptions import InvalidInput, NotAllowed, StateConflict
from common.roles import AnyUser, operator_id_of
from operators import notifications
from operators.enums import (
    EnrolmentState,
)
from operators.models import (
    Enrolment,
    Invitation,
    Membership,
    Operator,
)
from operators.services.accounts import account_create
from operators.services.messages import INVALID_INVITATION


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def operator_can_invite(*, user: AnyUser, operator: Operator) -> bool:
    """The operator's manager: an active member whose own enrolment for it was validated."""
    if user is None or not user.is_authenticated or user.is_staff or operator_id_of(user) != operator.pk:
        return False
    return Enrolment.objects.filter(user=user, operator=operator, state=EnrolmentState.VALIDATED).exists()


def invitation_create(*, operator: Operator, email: str, actor: User, at: datetime | None = None) -> Invitation:
    """The manager invites a colleague by e-mail; the link (a one-time token, 7 days) is e-mailed after commit.

    A new invitation to the same address replaces a pending one. The token is never stored
    nor returned: only its SHA-256.
    """
    at = at or timezone.now()
    if not operator_can_invite(user=actor, operator=operator):
        raise NotAllowed("Seul le représentant dont l'enrôlement a été validé peut inviter des collègues.")
    email = (email or "").strip().lower()
    try:
        EmailValidator()(email)
    except ValidationError:
        raise InvalidInput(errors={"email": ["Adresse e-mail invalide."]}) from None
    if get_user_model().objects.filter(email__iexact=email).exists():
        message = "Un compte existe déjà avec cette adresse e-mail."
        raise StateConflict(message, code="account_exists", errors={"email": [message]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(
            operator=operator, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=at)
        invitation = Invitation.objects.create(
            operator=operator,
            email=email,
            token_hash=_token_hash(token),
            invited_by=actor,
            expires_at=at + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        transaction.on_commit(lambda: notifications.schedule_invitation_email(invitation.pk, token))
    return invitation


def invitation_revoke(*, invitation: Invitation, actor: User, at: datetime | None = None) -> Invitation:
    at = at or timezone.now()
    if not operator_can_invite(user=actor, operator=invitation.operator):
        raise NotAllowed()
    with transaction.atomic():
        updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=at
        )
        if updated != 1:
            raise StateConflict("Cette invitation a déjà été acceptée ou révoquée.")
    return Invitation.objects.get(pk=invitation.pk)


def invitation_accept(
    *,
    token: str,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    at: datetime | None = None,
) -> User:
    """Whoever holds a valid token creates their account, an active member of the inviting operator."""
    at = at or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("operator")
            .filter(token_hash=_token_hash(token or ""))
            .first()
        )
        if invitation is None or invitation.status_at(at) != "pending":
            raise InvalidInput(INVALID_INVITATION, code="invalid_invitation", errors={"token": [INVALID_INVITATION]})
        user = account_create(
            username=username, email=invitation.email, password=password, first_name=first_name, last_name=last_name
        )
        Membership.objects.create(user=user, operator=invitation.operator, is_active=True)
        invitation.accepted_at = at
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user
