from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from funding.enums import CountSource, MailboxType

MONEY = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


class FundingSchedule(models.Model):
    """A versioned barème: per-mailbox rates, base, cap and advance share (€ excl. VAT).

    Schedules are data: new versions are added, never edited once a claim froze them.
    """

    code = models.SlugField("code", max_length=64, unique=True)
    label = models.CharField("libellé", max_length=255)
    source = models.CharField("source", max_length=255, blank=True)
    rate_app = models.DecimalField("tarif BAL APP (HT)", **MONEY)
    rate_org = models.DecimalField("tarif BAL ORG (HT)", **MONEY)
    rate_per = models.DecimalField("tarif BAL PER (HT)", **MONEY)
    base = models.DecimalField("forfait (HT)", **MONEY)
    cap = models.DecimalField("plafond (HT)", **MONEY)
    advance_share = models.DecimalField(
        "part de l'avance",
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Par exemple 0,3000 pour 30 %.",
    )
    is_published = models.BooleanField("publié", default=True, help_text="Visible dans le simulateur public.")

    class Meta:
        verbose_name = "barème de financement"
        verbose_name_plural = "barèmes de financement"
        ordering = ["code"]

    def __str__(self):
        return f"{self.label} ({self.code})"

    def rate_for(self, mailbox_type):
        return {
            MailboxType.APP: self.rate_app,
            MailboxType.ORG: self.rate_org,
            MailboxType.PER: self.rate_per,
        }[MailboxType(mailbox_type)]


class Campaign(models.Model):
    """A funding campaign: which schedule applies, when mailboxes are counted, filing deadlines.

    Deadlines are calendar days in Europe/Paris; a deadline day is open until its last instant.
    """

    code = models.SlugField("code", max_length=64, unique=True)
    label = models.CharField("libellé", max_length=255)
    schedule = models.ForeignKey(
        FundingSchedule, verbose_name="barème", on_delete=models.PROTECT, related_name="campaigns"
    )
    closure_date = models.DateField("date de clôture", help_text="Jour où les BAL sont comptées dans l'Annuaire Santé.")
    advance_deadline = models.DateField("date limite des demandes d'avance")
    balance_deadline = models.DateField("date limite des demandes de solde")

    class Meta:
        verbose_name = "campagne"
        verbose_name_plural = "campagnes"
        ordering = ["-closure_date"]
        constraints = [
            models.CheckConstraint(
                name="campaign_balance_after_advance",
                condition=models.Q(balance_deadline__gte=models.F("advance_deadline")),
            )
        ]

    def __str__(self):
        return self.label


class MailboxCount(models.Model):
    """How many mailboxes of one type an operator had on a date, and where the figure comes from."""

    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.CASCADE, related_name="mailbox_counts"
    )
    mailbox_type = models.CharField("type de BAL", max_length=3, choices=MailboxType.choices)
    as_of = models.DateField("date de comptage")
    count = models.PositiveIntegerField("nombre de BAL")
    source = models.CharField("source", max_length=16, choices=CountSource.choices, default=CountSource.AGENT_ENTRY)
    source_note = models.CharField("justification de la source", max_length=500)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="saisi par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("saisi le", auto_now_add=True)

    class Meta:
        verbose_name = "nombre de BAL"
        verbose_name_plural = "nombres de BAL"
        ordering = ["operator", "as_of", "mailbox_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "mailbox_type", "as_of"], name="mailboxcount_one_per_type_and_day"
            )
        ]

    def __str__(self):
        return f"{self.operator.legal_name} {self.mailbox_type} au {self.as_of} : {self.count}"
