"""Append-only, hash-chained logs shared by the apps (claims keep their own helper in claims.audit).

Each row stores the SHA-256 of a canonical JSON form of its content chained with the
previous row's hash; the parent object keeps the chain head, so a removed last row shows.
"""

import hashlib
import json

from django.db import models

GENESIS = "0" * 64
APPEND_ONLY = "Le journal est en ajout seul : modification ou suppression interdite."


def chained_hash(payload, prev_hash):
    """SHA-256 hex digest of `payload` (a JSON-serialisable dict) chained with `prev_hash`."""
    canonical = json.dumps({**payload, "prev": prev_hash}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(APPEND_ONLY)

    def delete(self):
        raise PermissionError(APPEND_ONLY)


class AppendOnlyModel(models.Model):
    """Rows are inserted once, never updated nor deleted (model and queryset)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(APPEND_ONLY)
