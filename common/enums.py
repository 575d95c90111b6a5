from django.db import models


class IdempotencyState(models.TextChoices):
    PROCESSING = "processing", "en cours"
    COMPLETED = "completed", "terminée"


class ScanStatus(models.TextChoices):
    """Where an uploaded proof stands with the antivirus (common.scanning). Only CLEAN and NOT_SCANNED
    are usable: counted by the filing guards and served by downloads."""

    PENDING = "pending", "en cours d'analyse"
    CLEAN = "clean", "analysée, saine"
    INFECTED = "infected", "infectée — en quarantaine"
    NOT_SCANNED = "not_scanned", "non analysée"
