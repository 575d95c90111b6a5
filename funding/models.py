import os
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from common.formatting import paris_date, percent
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

    def rate_for(self, mailbox_type: str) -> Decimal:
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
    # `schedule` keeps its name (API field `schedule`, docs/spec/SPEC.md §6): it is the buyers' schedule, the
    # published final formula; developers have theirs (the agency's decision, same by default).
    schedule = models.ForeignKey(
        FundingSchedule,
        verbose_name="barème des opérateurs acheteurs",
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    developer_schedule = models.ForeignKey(
        FundingSchedule,
        verbose_name="barème des opérateurs développeurs",
        on_delete=models.PROTECT,
        related_name="developer_campaigns",
        help_text="À fixer avant la première demande : une demande garde le barème appliqué à son dépôt.",
    )
    opening_date = models.DateField(
        "date d'ouverture", help_text="Premier jour où les demandes d'avance peuvent être déposées."
    )
    closure_date = models.DateField("date de clôture", help_text="Jour où les BAL sont comptées dans l'Annuaire Santé.")
    closure_snapshot = models.ForeignKey(
        "AnnuaireSnapshot",
        verbose_name="extraction de clôture",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Extraction de l'Annuaire qui donne les BAL à la clôture (solde). Vide : la première "
        "extraction générée après la fin du jour de clôture (heure de Paris).",
    )
    count_max_age_days = models.PositiveIntegerField(
        "ancienneté maximale d'un comptage (jours)",
        default=90,
        help_text="Une avance est calculée sur le dernier comptage de chaque type datant au plus de ce nombre "
        "de jours avant son dépôt.",
    )
    vat_rate = models.DecimalField(
        "taux de TVA",
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.2000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Appliqué au montant HT des opérateurs assujettis (0,2000 pour 20 %).",
    )
    pays_vat = models.BooleanField(
        "verse la TVA",
        default=True,
        help_text="Décoché : l'agence ne verse que le montant HT, quel que soit l'assujettissement de l'opérateur.",
    )
    advance_deadline = models.DateField("date limite des demandes d'avance")
    balance_deadline = models.DateField("date limite des demandes de solde")
    reference_date = models.DateField(
        "date de référence",
        null=True,
        blank=True,
        help_text="Extraction de l'Annuaire servant de point de comparaison pour détecter les croissances "
        "anormales. Vide : la dernière extraction antérieure à la clôture.",
    )

    class Meta:
        verbose_name = "campagne"
        verbose_name_plural = "campagnes"
        ordering = ["-closure_date"]
        constraints = [
            models.CheckConstraint(
                name="campaign_balance_after_advance",
                condition=models.Q(balance_deadline__gte=models.F("advance_deadline")),
            ),
            models.CheckConstraint(
                name="campaign_opens_before_closure",
                condition=models.Q(opening_date__lte=models.F("closure_date")),
            ),
        ]

    def __str__(self):
        return self.label

    def schedule_for(self, operator_kind: str) -> FundingSchedule:
        """The schedule that prices an operator of `operator_kind` (OperatorKind value) in this campaign."""
        return self.developer_schedule if operator_kind == "developer" else self.schedule


def count_proof_storage_name(instance, filename):
    # Never the user's name: a fresh UUID keeps every stored proof (nothing is overwritten).
    extension = os.path.splitext(filename)[1].lower()
    return f"count-proofs/{instance.operator_id}/{uuid.uuid4().hex}{extension}"


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
    proof = models.FileField(
        "pièce justificative", upload_to=count_proof_storage_name, max_length=255, blank=True, default=""
    )
    proof_sha256 = models.CharField("empreinte SHA-256 de la pièce", max_length=64, blank=True, default="")
    created_at = models.DateTimeField("saisi le", auto_now_add=True)

    class Meta:
        verbose_name = "nombre de BAL"
        verbose_name_plural = "nombres de BAL"
        ordering = ["operator", "as_of", "mailbox_type"]
        constraints = [
            # One figure per source and day: an agent's entry sits beside the count file's figure
            # (which a later import refreshes) and prevails over it (funding.selectors.SOURCE_PRECEDENCE).
            models.UniqueConstraint(
                fields=["operator", "mailbox_type", "as_of", "source"], name="mailboxcount_one_per_source_and_day"
            )
        ]

    def __str__(self):
        return f"{self.operator.legal_name} {self.mailbox_type} au {self.as_of} : {self.count}"


class AnnuaireSnapshot(models.Model):
    """One imported Annuaire Santé MSSanté extraction: the published mailboxes on `as_of`.

    A file is imported once (its SHA-256 is unique); the summary printed at import time is
    kept (`by_type`, `errors`) so that a re-import can say what the first one found.
    """

    as_of = models.DateField("date de l'extraction")
    file_name = models.CharField("nom du fichier", max_length=255)
    # Read from the file name (…_AAAAMMJJhhmm, Paris time) when it carries one: a nightly extraction
    # generated at 04:00 reflects the day before, which matters for the closure snapshot.
    generated_at = models.DateTimeField("générée le", null=True, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, unique=True)
    # Name, size and CRC-32 of the text (a zip member's, read from the archive's directory): a zip
    # already imported is recognised before it is inflated. Empty for snapshots imported before.
    text_key = models.CharField("nom, taille et CRC-32 du texte", max_length=300, blank=True, default="")
    rows = models.PositiveIntegerField("lignes lues", default=0)
    mailbox_total = models.PositiveIntegerField("BAL distinctes", default=0)
    by_type = models.JSONField("BAL par type", default=dict)
    error_count = models.PositiveIntegerField("lignes en erreur", default=0)
    errors = models.JSONField("erreurs (les premières)", default=list)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="importé par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_by_label = models.CharField("importé par (libellé)", max_length=150, blank=True)
    imported_at = models.DateTimeField("importé le", auto_now_add=True)

    class Meta:
        verbose_name = "extraction de l'Annuaire Santé"
        verbose_name_plural = "extractions de l'Annuaire Santé"
        ordering = ["-as_of", "-imported_at"]
        indexes = [
            # counts_at(): the newest snapshot of a given day.
            models.Index(fields=["as_of", "-imported_at"], name="snapshot_as_of_idx"),
            # annuaire_import(): a zip already imported, found by its member's key before inflating it.
            models.Index(fields=["text_key"], name="snapshot_text_key_idx"),
        ]

    def __str__(self):
        return f"Annuaire au {paris_date(self.as_of)} ({self.file_name})"


class AnnuaireMailbox(models.Model):
    """One published mailbox of a snapshot: address lower-cased, duplicates folded (first line kept).

    Written only by the import, in bulk. Kept lean on purpose: the key is the natural one, line N
    of snapshot S, and its index is the only one (every read is "the rows of one snapshot"); no
    surrogate id (a sequence call and a second index per row cost a third of the load on
    PostgreSQL, see bench/RESULTS.md). The foreign key is not a database constraint (a million
    deferred checks per import) and one address per snapshot is guaranteed by the import's fold
    step, tested on both databases, rather than by a unique index on addresses.
    """

    pk = models.CompositePrimaryKey("snapshot_id", "line")
    snapshot = models.ForeignKey(
        AnnuaireSnapshot,
        verbose_name="extraction",
        on_delete=models.CASCADE,
        related_name="mailboxes",
        db_constraint=False,
        db_index=False,  # the key (snapshot, line) serves it
    )
    line = models.PositiveIntegerField("ligne du fichier")
    address = models.CharField("adresse BAL", max_length=254)
    mailbox_type = models.CharField("type de BAL", max_length=3)
    domain = models.CharField("domaine", max_length=253)

    class Meta:
        verbose_name = "BAL publiée"
        verbose_name_plural = "BAL publiées"

    def __str__(self):
        return self.address


class AnnuaireDomainCount(models.Model):
    """Mailboxes of a snapshot per domain and type: the aggregate every count per operator reads.

    Derived in SQL from `AnnuaireMailbox` at import (a few thousand rows per snapshot), so the
    counts per operator, the unknown domains and the anomaly figures never rescan a million rows.
    """

    snapshot = models.ForeignKey(
        AnnuaireSnapshot, verbose_name="extraction", on_delete=models.CASCADE, related_name="domain_counts"
    )
    domain = models.CharField("domaine", max_length=253)
    mailbox_type = models.CharField("type de BAL", max_length=3)
    count = models.PositiveIntegerField("nombre de BAL")

    class Meta:
        verbose_name = "BAL publiées par domaine"
        verbose_name_plural = "BAL publiées par domaine"
        constraints = [
            # Also the index of every read: the rows of one snapshot, joined on the domain.
            models.UniqueConstraint(fields=["snapshot", "domain", "mailbox_type"], name="domaincount_unique"),
        ]

    def __str__(self):
        return f"{self.domain} {self.mailbox_type} : {self.count}"


class CountedMailbox(models.Model):
    """An address counted in the frozen amount of an operator's claim in a campaign.

    Written when a claim freezes its counts (in bulk, from one snapshot, so one row per address
    by construction); once that operator holds an approved or paid claim, these addresses are
    never counted again for another operator of the campaign. Lean like AnnuaireMailbox: no
    database foreign-key checks on a few hundred thousand rows per large operator.
    """

    campaign = models.ForeignKey(
        Campaign,
        verbose_name="campagne",
        on_delete=models.CASCADE,
        related_name="counted_mailboxes",
        db_constraint=False,
    )
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name="opérateur",
        on_delete=models.CASCADE,
        related_name="counted_mailboxes",
        db_constraint=False,
        db_index=False,
    )
    address = models.CharField("adresse BAL", max_length=254)
    mailbox_type = models.CharField("type de BAL", max_length=3)
    # Kept to find, without scanning the snapshot, the addresses whose domain has changed hands since.
    domain = models.CharField("domaine", max_length=253, default="")

    class Meta:
        verbose_name = "BAL comptée dans une demande"
        verbose_name_plural = "BAL comptées dans une demande"
        indexes = [
            # Replacing an operator's set, and reading the addresses of a domain that changed hands.
            models.Index(fields=["campaign", "operator", "domain"], name="countedmailbox_domain_idx"),
        ]

    def __str__(self):
        return self.address


class CountedDomain(models.Model):
    """How many addresses of each domain were counted for (campaign, operator): CountedMailbox, summed.

    A few rows per operator, so finding the domains that changed hands since they were counted
    never reads the counted addresses themselves.
    """

    campaign = models.ForeignKey(Campaign, verbose_name="campagne", on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.CASCADE, related_name="+"
    )
    domain = models.CharField("domaine", max_length=253)
    count = models.PositiveIntegerField("BAL comptées")

    class Meta:
        verbose_name = "domaine compté dans une demande"
        verbose_name_plural = "domaines comptés dans une demande"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "operator", "domain"], name="counteddomain_unique"),
        ]

    def __str__(self):
        return f"{self.domain} : {self.count}"


class GrowthCheck(models.Model):
    """Mailbox growth of one operator between a reference and the closure snapshot of a campaign.

    `flagged` when the operator's growth ratio exceeds the overall growth by the configured
    factor and its increase reaches the configured minimum (settings ANOMALY_*). An operator with
    no mailbox at the reference is a newcomer (`growth` empty): never flagged.
    """

    campaign = models.ForeignKey(Campaign, verbose_name="campagne", on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.CASCADE, related_name="growth_checks"
    )
    reference_snapshot = models.ForeignKey(
        AnnuaireSnapshot, verbose_name="extraction de référence", on_delete=models.CASCADE, related_name="+"
    )
    closure_snapshot = models.ForeignKey(
        AnnuaireSnapshot, verbose_name="extraction de clôture", on_delete=models.CASCADE, related_name="+"
    )
    reference_count = models.PositiveIntegerField("BAL à la référence")
    closure_count = models.PositiveIntegerField("BAL à la clôture")
    growth = models.DecimalField(
        "croissance de l'opérateur",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Vide : nouvel entrant (aucune BAL à la référence).",
    )
    overall_growth = models.DecimalField("croissance de l'ensemble", max_digits=12, decimal_places=4)
    factor = models.DecimalField("facteur de seuil", max_digits=8, decimal_places=2)
    min_increase = models.PositiveIntegerField("hausse minimale")
    flagged = models.BooleanField("anomalie", default=False)
    # When the agents were told of the flag: kept across refreshes while the operator stays flagged,
    # so a flag is e-mailed once (funding.emails.send_growth_flags).
    notified_at = models.DateTimeField("signalement envoyé le", null=True, blank=True)
    computed_at = models.DateTimeField("calculé le", auto_now_add=True)

    class Meta:
        verbose_name = "contrôle de croissance"
        verbose_name_plural = "contrôles de croissance"
        ordering = ["-flagged", "operator"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "operator"], name="growthcheck_one_per_campaign_operator"),
        ]

    def __str__(self):
        return f"{self.operator} — {self.campaign}"

    @property
    def increase(self):
        return self.closure_count - self.reference_count

    @property
    def is_newcomer(self):
        return self.reference_count == 0

    @property
    def growth_label(self):
        """The operator's growth in words: "nouvel entrant" when it had no mailbox at the reference."""
        return "nouvel entrant" if self.growth is None else percent(self.growth)
