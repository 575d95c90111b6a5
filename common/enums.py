from django.db import models


class IdempotencyState(models.TextChoices):
    PROCESSING = "processing", "en cours"
    COMPLETED = "completed", "terminée"
