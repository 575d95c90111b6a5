"""Webhook signing secrets sealed at rest (Fernet: AES-128-CBC + HMAC-SHA256), keyed from SECRET_KEY.

A secret must be readable to sign payloads, so it cannot be hashed like a password; sealed,
a copy of the database alone no longer lets anyone sign events as the agency. The key is
derived from SECRET_KEY (HKDF-SHA256 with a label of its own), so there is nothing new to
configure. Sealing uses the current key; opening tries it, then each of SECRET_KEY_FALLBACKS:
after rotating SECRET_KEY, keep the old one there until every hook has had its secret
renewed (`rotate-secret`).
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "fernet:"
PURPOSE = b"segur/webhook-signing-secret/v1"


class SecretUnavailable(Exception):
    """A sealed secret that none of the configured keys opens (SECRET_KEY changed without fallback)."""


def fernet_key(secret_key):
    """The Fernet key derived from one Django SECRET_KEY for this purpose."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=4)
def _box(keys):
    return MultiFernet([Fernet(fernet_key(key)) for key in keys])


def _current_box():
    return _box((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(secret):
    return PREFIX + _current_box().encrypt(secret.encode()).decode()


def unseal(sealed):
    if not sealed.startswith(PREFIX):
        raise SecretUnavailable("Secret de signature illisible (format inconnu).")
    try:
        return _current_box().decrypt(sealed[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnavailable(
            "Secret de signature illisible : SECRET_KEY a changé sans que l'ancienne clé soit gardée dans "
            "SECRET_KEY_FALLBACKS. Renouvelez le secret du webhook."
        ) from None
