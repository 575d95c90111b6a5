from django.db import models


class MailboxType(models.TextChoices):
    """Funded MSSanté mailbox types, in the order the schedule lists them."""

    APP = "APP", "BAL applicative"
    ORG = "ORG", "BAL organisationnelle"
    PER = "PER", "BAL personnelle"
