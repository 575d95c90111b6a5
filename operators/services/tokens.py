"""API tokens: issued by name (portal) or by credentials (POST /api/v1/auth/token), revoked by their owner."""

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from common.exceptions import InvalidInput, NotAllowed
from operators.auth import password_fingerprint, token_digest, token_ttl
from operators.models import ApiToken

TOKEN_NAME_REQUIRED = "Donnez un nom au jeton (par exemple le système qui l'utilisera)."
TOO_MANY_TOKENS = "Vous avez déjà {count} jetons actifs : révoquez-en un avant d'en créer un autre."
LOGIN_TOKEN_NAME = "POST /api/v1/auth/token"


def _live_tokens(user: User, now: datetime) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, expires_at__gt=now)


def api_token_issue(
    *, user: User | None, name: str, at: datetime | None = None, replace_oldest: bool = False
) -> tuple[ApiToken, str]:
    """A new token for `user` (an active account); returns (token, key) — the key is never stored.

    Expired tokens of the user are dropped. At most API_TOKENS_PER_USER live tokens: beyond it,
    the oldest is revoked when `replace_oldest` (the credentials endpoint, whose contract always
    issues a token), otherwise the request is refused.
    """
    if user is None or not user.is_active:
        raise NotAllowed()
    name = (name or "").strip()
    if not name:
        raise InvalidInput(TOKEN_NAME_REQUIRED, errors={"name": [TOKEN_NAME_REQUIRED]})
    now = at or timezone.now()
    limit = settings.API_TOKENS_PER_USER
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
        live = list(_live_tokens(user, now).order_by("created_at", "pk").values_list("pk", flat=True))
        if len(live) >= limit:
            if not replace_oldest:
                message = TOO_MANY_TOKENS.format(count=len(live))
                raise InvalidInput(message, errors={"name": [message]})
            ApiToken.objects.filter(pk__in=live[: len(live) - limit + 1]).delete()
        key = secrets.token_hex(20)
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            digest=token_digest(key),
            password_fingerprint=password_fingerprint(user),
            created_at=now,
            expires_at=now + token_ttl(),
        )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User | None) -> None:
    """Delete `token`; only its owner may (the caller found it through a scoped selector)."""
    if actor is None or token.user_id != actor.pk:
        raise NotAllowed()
    token.delete()
