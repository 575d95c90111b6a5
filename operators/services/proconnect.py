"""ProConnect (OIDC) sign-in: which account a ProConnect identity opens, and the one attachment it may make.

ProConnect's `sub` differs per identity provider, so accounts are matched on the e-mail. An operator
user is attached to the operator whose SIREN is the first 9 digits of the `siret` claim only through a
pending invitation to that operator for that e-mail; no account and no membership is ever created
otherwise. Agents (staff) must have signed in with MFA: an `acr` among PROCONNECT_AGENT_ACR_VALUES.
"""

import logging
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from common.exceptions import DomainError
from operators.models import Invitation, Membership

logger = logging.getLogger(__name__)

NO_ACCOUNT = (
    "Aucun compte du portail n'est associé à cette adresse e-mail ProConnect. Créez un compte, "
    "ou demandez une invitation au représentant de votre opérateur."
)
AMBIGUOUS_ACCOUNT = "Plusieurs comptes utilisent cette adresse e-mail : contactez l'agence de paiement."
INACTIVE_ACCOUNT = "Ce compte est désactivé."
MFA_REQUIRED = (
    "Les agents doivent se connecter avec une authentification à deux facteurs (ProConnect, niveau eidas2 "
    "ou supérieur)."
)
OTHER_OPERATOR = (
    "Votre compte est rattaché à un autre opérateur que l'établissement (SIRET) de votre identité ProConnect."
)
MISSING_EMAIL = "ProConnect n'a pas transmis d'adresse e-mail : connexion impossible."


class ProConnectRefused(DomainError):
    """A ProConnect identity that opens no account here (the message is shown on the login page)."""

    code = "proconnect_refused"


def _pending_invitation(*, email: str, siren: str, at: datetime) -> Invitation | None:
    """The latest pending invitation of `email` to the operator of `siren`, locked, or None."""
    if len(siren) != 9 or not siren.isdigit():
        return None
    candidates = (
        Invitation.objects.select_for_update()
        .select_related("operator")
        .filter(email__iexact=email, operator__siren=siren, accepted_at__isnull=True, revoked_at__isnull=True)
        .order_by("-created_at")
    )
    return next((invitation for invitation in candidates if invitation.status_at(at) == "pending"), None)


def _free_username(email: str) -> str:
    User = get_user_model()
    base = email[:140]
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def proconnect_account(*, claims: Mapping[str, object], acr: str | None, at: datetime | None = None) -> User:
    """The account a verified ProConnect identity opens (claims from the signed userinfo, `acr` from the
    verified ID token). Raises ProConnectRefused with a French message otherwise.

    Before: the tokens were verified (signature, issuer, audience, nonce). After: at most one membership
    was created, from a pending invitation to the operator of the `siret` claim, which is then accepted.
    """
    at = at or timezone.now()
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise ProConnectRefused(MISSING_EMAIL)
    siren = str(claims.get("siret") or "")[:9]
    User = get_user_model()
    with transaction.atomic():
        users = list(User.objects.select_for_update().filter(email__iexact=email)[:2])
        if len(users) > 1:
            raise ProConnectRefused(AMBIGUOUS_ACCOUNT)
        user = users[0] if users else None
        if user is not None and not user.is_active:
            raise ProConnectRefused(INACTIVE_ACCOUNT)
        if user is not None and user.is_staff:
            if acr not in settings.PROCONNECT_AGENT_ACR_VALUES:
                logger.warning("proconnect: agent user=%s refused, acr=%s", user.pk, acr)
                raise ProConnectRefused(MFA_REQUIRED)
            return user
        membership = Membership.objects.select_related("operator").filter(user=user).first() if user else None
        if user is not None and membership is not None:  # (a membership implies a user)
            if membership.operator.siren != siren:
                logger.warning("proconnect: user=%s refused, siret of another operator", user.pk)
                raise ProConnectRefused(OTHER_OPERATOR)
            return user
        invitation = _pending_invitation(email=email, siren=siren, at=at)
        if invitation is None:
            if user is None:
                raise ProConnectRefused(NO_ACCOUNT)
            return user  # an account with no operator yet (it enrols or awaits an invitation)
        if user is None:
            user = User.objects.create_user(
                username=_free_username(email),
                email=email,
                password=None,  # unusable: this account signs in through ProConnect (or resets a password)
                first_name=str(claims.get("given_name") or "")[:150],
                last_name=str(claims.get("usual_name") or "")[:150],
            )
        Membership.objects.create(user=user, operator=invitation.operator, is_active=True)
        invitation.accepted_at = at
        if not Invitation.objects.filter(accepted_by=user).exists():
            invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        logger.info(
            "proconnect: user=%s joined operator=%s (invitation=%s)", user.pk, invitation.operator_id, invitation.pk
        )
    return user
