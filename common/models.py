"""Models shared by the apps: abstract bases, and the API's idempotency keys."""

from django.conf import settings
from django.db import models

from common.enums import IdempotencyState
from common.uploads import EXTENSIONS


class StoredFile(models.Model):
    """A proof kept as uploaded, checked by content: never overwritten (a new upload is a new version).

    Subclasses add the owner FK, `kind` with its choices and `file` with its storage path.
    """

    version = models.PositiveIntegerField("version", default=1)
    original_name = models.CharField("nom du fichier", max_length=120)
    content_type = models.CharField("type de contenu", max_length=64)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="déposé par", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version} — {self.original_name}"

    @property
    def extension(self):
        return EXTENSIONS.get(self.content_type, "")


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` sent with a POST, and the response of its first success, replayed for 24 h.

    Written and read only by common.idempotency: the row is created `processing` before the view acts
    (the unique constraint makes a concurrent duplicate fail), then holds the response once the
    request succeeded, or is deleted when it failed (nothing was done: a retry may run again).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="utilisateur", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField("clé", max_length=255)
    # SHA-256 of the method, the path and the SHA-256 of the raw body (common.idempotency.fingerprint).
    fingerprint = models.CharField("empreinte de la requête", max_length=64)
    state = models.CharField("état", max_length=16, choices=IdempotencyState.choices)
    response_status = models.PositiveSmallIntegerField("code HTTP", null=True, blank=True)
    response_headers = models.JSONField("en-têtes", default=dict, blank=True)
    response_body = models.BinaryField("corps", default=b"", blank=True)
    created_at = models.DateTimeField("reçue le")

    class Meta:
        verbose_name = "clé d'idempotence"
        verbose_name_plural = "clés d'idempotence"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_once_per_user")]
        indexes = [
            # The daily purge: keys older than 24 h.
            models.Index(fields=["created_at"], name="idempotencykey_created_idx"),
        ]

    def __str__(self):
        return f"{self.key} ({self.get_state_display()})"
