from django.db import models


class OperatorKind(models.TextChoices):
    DEVELOPER = "developer", "Opérateur développeur"
    BUYER = "buyer", "Opérateur acheteur"


class ContractStatus(models.TextChoices):
    SIGNED_BY_OPERATOR = "signed_by_operator", "Signé par l'opérateur"
    COUNTERSIGNED = "countersigned", "Contresigné par l'ANS"
    TERMINATED = "terminated", "Résilié"


class ReferencingStatus(models.TextChoices):
    VALID = "valid", "Valide"
    SUSPENDED = "suspended", "Suspendu"
    REVOKED = "revoked", "Retiré"
