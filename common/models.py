"""Abstract models shared by the apps."""

from django.conf import settings
from django.db import models

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
