from django.db import models

# The largest mailbox count of one type that anyone may enter or send (simulator, API, count file,
# simulate_funding): far above any operator's park, low enough that no amount overflows.
MAX_COUNT = 10_000_000


class MailboxType(models.TextChoices):
    """Funded MSSanté mailbox types, in the order the schedule lists them."""

    APP = "APP", "BAL applicative"
    ORG = "ORG", "BAL organisationnelle"
    PER = "PER", "BAL personnelle"


class CountSource(models.TextChoices):
    AGENT_ENTRY = "agent_entry", "Saisie d'un agent"
    ANNUAIRE = "annuaire", "Extraction de l'Annuaire Santé"
    COUNT_FILE = "count_file", "Fichier de comptage par opérateur"
