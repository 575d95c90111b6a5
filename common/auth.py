"""API tokens that expire (DRF's tokens never do)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

EXPIRED = "Jeton expiré : demandez-en un nouveau (POST /api/v1/auth/token)."


def token_expired(token, *, now=None):
    return token.created <= (now or timezone.now()) - timedelta(hours=settings.API_TOKEN_TTL_HOURS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """A token older than API_TOKEN_TTL_HOURS is refused (401) and deleted."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(EXPIRED, code="token_expired")
        return user, token
