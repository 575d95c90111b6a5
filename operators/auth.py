"""API token authentication, beside the ApiToken model it reads. Tokens: named, several per user,
expiring, stored as a hash, and dead once the password changes.

Each token keeps an HMAC of the password hash it was issued under (like Django's session auth
hash); authentication compares it, so a password changed by any path — portal, reset link, admin,
`changepassword`, `set_password()` + `save()` in a shell — invalidates every token, with no side
effect in `save()` and no signal. A deactivated account's tokens are refused too.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from operators.models import ApiToken

EXPIRED = "Jeton expiré : demandez-en un nouveau (POST /api/v1/auth/token)."
PASSWORD_CHANGED = "Jeton révoqué : le mot de passe du compte a changé depuis sa création."
# The module's former path (common.auth): changing the salt would revoke every live token.
FINGERPRINT_SALT = "common.auth.ApiToken.password_fingerprint"
# last_used_at is written at most this often per token (not one UPDATE per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(key):
    """What is stored of a token's key: its SHA-256 (the key itself is shown once, never stored)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def password_fingerprint(user, *, secret=None):
    """HMAC (SECRET_KEY) of the user's current password hash."""
    return salted_hmac(FINGERPRINT_SALT, user.password, secret=secret, algorithm="sha256").hexdigest()


def issued_under_current_password(token, user):
    """True when the user's password hash is still the one the token was issued under (former
    SECRET_KEYs in SECRET_KEY_FALLBACKS are accepted, as for sessions)."""
    return any(
        constant_time_compare(token.password_fingerprint, password_fingerprint(user, secret=secret))
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    )


def token_ttl():
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <key>` (RFC 6750, what generated clients send) or `Token <key>` (DRF's
    keyword, for existing clients) against operators.ApiToken; refused (401) when unknown, expired,
    issued under a former password, or of an inactive account — and then deleted."""

    keywords = ("Token", "Bearer")

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].decode("latin-1").lower() not in {k.lower() for k in self.keywords}:
            return None
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(_("Invalid token header. No credentials provided."))
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header. Token string should not contain spaces."))
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain invalid characters.")
            ) from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = token.user
        now = timezone.now()
        if not user.is_active:
            token.delete()
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if token.expires_at <= now:
            token.delete()
            raise exceptions.AuthenticationFailed(EXPIRED, code="token_expired")
        if not issued_under_current_password(token, user):
            token.delete()
            raise exceptions.AuthenticationFailed(PASSWORD_CHANGED, code="token_revoked")
        if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token
