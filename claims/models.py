import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from claims.enums import (
    ENDED_STATES,
    LIVE_ATTEMPT_STATES,
    AttemptState,
    BatchState,
    ClaimKind,
    ClaimState,
    DocumentKind,
    RecoveryDecision,
    RecoveryState,
)
from common.audit import AppendOnlyModel, ChainedEvent
from common.formatting import euros, paris_date
from common.labels import BATCH_EVENT_LABELS, CLAIM_EVENT_LABELS
from common.models import StoredFile


class Claim(models.Model):
    """An advance or balance claim of one operator in one campaign.

    `state` is only ever written by `claims.services` (see `claims.workflow`), through
    a conditional update on the locked row, together with an audit event.
    """

    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.PROTECT, related_name="claims"
    )
    campaign = models.ForeignKey(
        "funding.Campaign", verbose_name="campagne", on_delete=models.PROTECT, related_name="claims"
    )
    kind = models.CharField("type de demande", max_length=16, choices=ClaimKind.choices)
    state = models.CharField(
        "état", max_length=24, choices=ClaimState.choices, default=ClaimState.DRAFT, editable=False
    )

    # Frozen at submission so that a later schedule or count change never alters a filed claim.
    counts = models.JSONField("nombres de BAL retenus", null=True, blank=True, editable=False)
    schedule_code = models.CharField("barème appliqué", max_length=64, blank=True, editable=False)
    breakdown = models.JSONField("détail du calcul", null=True, blank=True, editable=False)
    funded_total = models.DecimalField(
        "financement total (HT)", max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )
    amount = models.DecimalField(
        "montant demandé (HT)", max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )
    # VAT frozen with the amount (claims.pricing): none for an operator not liable to VAT.
    vat_rate = models.DecimalField("taux de TVA", max_digits=5, decimal_places=4, null=True, blank=True, editable=False)
    vat = models.DecimalField("TVA", max_digits=12, decimal_places=2, null=True, blank=True, editable=False)
    amount_to_pay = models.DecimalField(
        "montant à verser", max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )

    technical_doc_url = models.URLField("lien vers la documentation technique", max_length=500, blank=True)
    # Balance only: what the workshop asks beside the documentation ("point de contact a minima").
    deployment_date = models.DateField("date de déploiement du connecteur", null=True, blank=True)
    technical_contact_name = models.CharField("contact technique (nom)", max_length=200, blank=True)
    technical_contact_email = models.EmailField("contact technique (e-mail)", blank=True)
    installation_date = models.DateField(
        "date d'installation figurant sur la facture",
        null=True,
        blank=True,
        help_text="Opérateur acheteur : date d'installation du connecteur acheté, au plus tard la date de clôture.",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="agent en charge",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_claims",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="approuvée par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    correction_message = models.TextField("demande de compléments", blank=True, editable=False)
    correction_due = models.DateField("réponse attendue avant le", null=True, blank=True, editable=False)
    decision_reason = models.TextField("motif de la décision", blank=True, editable=False)

    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    submitted_at = models.DateTimeField("déposée le", null=True, blank=True, editable=False)
    decided_at = models.DateTimeField("décidée le", null=True, blank=True, editable=False)
    # Hash of the newest event: the head of this claim's audit chain (detects a removed tail).
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "demande de financement"
        verbose_name_plural = "demandes de financement"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "campaign", "kind"],
                condition=~models.Q(state__in=ENDED_STATES),
                name="claim_one_live_per_kind",
                violation_error_message="Une demande de ce type est déjà en cours pour cet opérateur.",
            )
        ]
        indexes = [
            # Daily job: drafts and open corrections by state.
            models.Index(fields=["state", "kind"], name="claim_state_kind_idx"),
            # Admin changelist (and its filtered variants): newest first, 50 a page. Without it
            # PostgreSQL joins and sorts every claim for each page (bench/RESULTS.md).
            models.Index(fields=["-created_at", "-id"], name="claim_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} n° {self.pk} — {self.operator.legal_name}"

    @property
    def payment(self):
        """The claim's settled payment (not returned), or None; reads a prefetched `payments` list."""
        return next((p for p in self.payments.all() if p.returned_at is None), None)


def document_storage_name(instance, filename):
    # The stored name never comes from the user: a fresh UUID, so nothing is ever overwritten.
    return f"proofs/{instance.operator_id}/{uuid.uuid4().hex}{instance.extension}"


class Document(StoredFile):
    """A proof uploaded for a claim, a generated letter, or an attachment to observations on an undue
    payment (then linked to its `recovery`). Never overwritten."""

    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.PROTECT, related_name="documents"
    )
    claim = models.ForeignKey(Claim, verbose_name="demande", on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField("type de pièce", max_length=32, choices=DocumentKind.choices)
    file = models.FileField("fichier", upload_to=document_storage_name, max_length=255)
    # The undue-payment case a letter (notice, decision) or an attachment to observations belongs to.
    recovery = models.ForeignKey(
        "Recovery",
        verbose_name="indu concerné",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        editable=False,
    )

    class Meta:
        verbose_name = "pièce justificative"
        verbose_name_plural = "pièces justificatives"
        ordering = ["claim", "kind", "-version"]
        constraints = [models.UniqueConstraint(fields=["claim", "kind", "version"], name="document_version_unique")]


class ClaimEvent(ChainedEvent):
    """One row of a claim's audit trail: append-only and hash-chained (common.audit)."""

    CHAIN_PARENT = "claim"
    LABELS = CLAIM_EVENT_LABELS

    claim = models.ForeignKey(Claim, verbose_name="demande", on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField("état avant", max_length=24, choices=ClaimState.choices)
    to_state = models.CharField("état après", max_length=24, choices=ClaimState.choices)

    class Meta:
        verbose_name = "événement"
        verbose_name_plural = "historique"
        ordering = ["claim", "seq"]
        constraints = [models.UniqueConstraint(fields=["claim", "seq"], name="claimevent_seq_unique")]


class DeadlineExtension(models.Model):
    """A validator's justified extension of one operator's filing deadline (append-only)."""

    operator = models.ForeignKey(
        "operators.Operator", verbose_name="opérateur", on_delete=models.PROTECT, related_name="deadline_extensions"
    )
    campaign = models.ForeignKey(
        "funding.Campaign", verbose_name="campagne", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("demande concernée", max_length=16, choices=ClaimKind.choices)
    new_deadline = models.DateField("nouvelle date limite")
    reason = models.TextField("motif")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="accordée par", on_delete=models.PROTECT)
    granted_at = models.DateTimeField("accordée le", auto_now_add=True)

    class Meta:
        verbose_name = "prolongation de délai"
        verbose_name_plural = "prolongations de délai"
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["operator", "campaign", "kind"], name="extension_lookup_idx")]

    def __str__(self):
        return f"{self.operator.legal_name} — {self.get_kind_display()} jusqu'au {paris_date(self.new_deadline)}"


class PaymentQuerySet(models.QuerySet):
    def settled(self):
        """Payments that stand: a payment returned by the bank after booking is kept but no longer counts."""
        return self.filter(returned_at__isnull=True)


class Payment(models.Model):
    """A settled payment of a claim (four-eyes: ordered or recorded by someone other than the approver).

    `amount` is the claim's amount to pay, VAT included where it is due (part of it may have been
    offset against a recovery: see the batch line). A transfer returned after booking keeps its row,
    marked returned; at most one payment per claim is not returned (database constraint).
    """

    claim = models.ForeignKey(Claim, verbose_name="demande", on_delete=models.PROTECT, related_name="payments")
    attempt = models.OneToOneField(
        "PaymentAttempt",
        verbose_name="ligne de lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
    )
    amount = models.DecimalField(
        "montant versé", max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    amount_excl_vat = models.DecimalField("dont montant HT", max_digits=12, decimal_places=2, default=Decimal("0.00"))
    vat = models.DecimalField("dont TVA", max_digits=12, decimal_places=2, default=Decimal("0.00"))
    paid_on = models.DateField("payé le")
    reference = models.CharField("référence du virement", max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="enregistré par", on_delete=models.PROTECT, null=True, blank=True
    )
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)
    returned_at = models.DateTimeField("retourné le", null=True, blank=True, editable=False)
    return_reason = models.CharField("motif du retour", max_length=200, blank=True, editable=False)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = "paiement"
        verbose_name_plural = "paiements"
        ordering = ["-paid_on"]
        constraints = [
            models.CheckConstraint(name="payment_amount_not_negative", condition=models.Q(amount__gte=0)),
            models.UniqueConstraint(
                fields=["claim"],
                condition=models.Q(returned_at__isnull=True),
                name="payment_one_settled_per_claim",
                violation_error_message="Cette demande a déjà un paiement.",
            ),
        ]

    def __str__(self):
        return f"{self.reference} — {euros(self.amount)}"


def batch_storage_name(instance, filename):
    # Never from user input: the batch number and a fresh UUID, so a stored file is never overwritten.
    return f"payment-batches/{instance.number:06d}-{uuid.uuid4().hex}.xml"


class PaymentBatch(models.Model):
    """A payment order: one SEPA credit-transfer file (pain.001.001.03) paying several claims.

    generated → sent → settled / partly returned, or cancelled (claims.workflow.BATCH_TRANSITIONS);
    `state` is written only by claims.payments, with an event of the batch's hash-chained history.
    The file is stored once and served as stored (same bytes, checked against `sha256`).
    """

    number = models.PositiveIntegerField("numéro du lot", unique=True, editable=False)
    state = models.CharField(
        "état", max_length=24, choices=BatchState.choices, default=BatchState.GENERATED, editable=False
    )
    message_id = models.CharField("identifiant du message SEPA (MsgId)", max_length=35, unique=True, editable=False)
    execution_date = models.DateField("date d'exécution demandée", editable=False)
    file = models.FileField("fichier pain.001", upload_to=batch_storage_name, max_length=255, editable=False)
    file_name = models.CharField("nom du fichier", max_length=120, editable=False)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, editable=False)
    total = models.DecimalField("total viré", max_digits=14, decimal_places=2, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créé par", on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField("créé le", editable=False)
    cancel_reason = models.TextField("motif d'annulation", blank=True, editable=False)
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "lot de paiement"
        verbose_name_plural = "lots de paiement"
        ordering = ["-number"]

    def __str__(self):
        return f"Lot n° {self.number}"


class PaymentBatchEvent(ChainedEvent):
    """One row of a batch's history: append-only and hash-chained (common.audit)."""

    CHAIN_PARENT = "batch"
    LABELS = BATCH_EVENT_LABELS

    batch = models.ForeignKey(PaymentBatch, verbose_name="lot", on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField("état avant", max_length=24, choices=BatchState.choices)
    to_state = models.CharField("état après", max_length=24, choices=BatchState.choices)

    class Meta:
        verbose_name = "événement du lot"
        verbose_name_plural = "historique du lot"
        ordering = ["batch", "seq"]
        constraints = [models.UniqueConstraint(fields=["batch", "seq"], name="paymentbatchevent_seq_unique")]


class PaymentAttempt(models.Model):
    """One line of a batch: an attempt to pay one claim, with what was frozen when it was ordered
    (the validated account, the amounts, the recoveries offset). A claim may have several attempts
    (after a return or a cancelled batch) but at most one live: ordered, or paid and not returned."""

    batch = models.ForeignKey(PaymentBatch, verbose_name="lot", on_delete=models.PROTECT, related_name="lines")
    claim = models.ForeignKey(Claim, verbose_name="demande", on_delete=models.PROTECT, related_name="payment_attempts")
    state = models.CharField(
        "état", max_length=16, choices=AttemptState.choices, default=AttemptState.ORDERED, editable=False
    )
    end_to_end_id = models.CharField("identifiant de bout en bout (EndToEndId)", max_length=35, unique=True)
    creditor_name = models.CharField("bénéficiaire", max_length=140)
    iban = models.CharField("IBAN payé", max_length=34)
    bic = models.CharField("BIC", max_length=11)
    amount_excl_vat = models.DecimalField("montant HT", max_digits=12, decimal_places=2)
    vat = models.DecimalField("TVA", max_digits=12, decimal_places=2)
    amount_to_pay = models.DecimalField("montant à verser", max_digits=12, decimal_places=2)
    offset = models.DecimalField("indus compensés", max_digits=12, decimal_places=2, default=Decimal("0.00"))
    transfer_amount = models.DecimalField("montant viré", max_digits=12, decimal_places=2)
    offset_recoveries = models.ManyToManyField(
        "Recovery", verbose_name="indus compensés", blank=True, related_name="offset_attempts"
    )
    resolved_at = models.DateTimeField("résolu le", null=True, blank=True, editable=False)
    return_code = models.CharField("code motif ISO", max_length=4, blank=True, editable=False)
    return_reason = models.CharField("motif", max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = "ligne de lot de paiement"
        verbose_name_plural = "lignes de lot de paiement"
        ordering = ["batch", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"],
                condition=models.Q(state__in=LIVE_ATTEMPT_STATES),
                name="attempt_one_live_per_claim",
                violation_error_message="Cette demande figure déjà dans un lot de paiement en cours.",
            ),
            models.CheckConstraint(name="attempt_transfer_positive", condition=models.Q(transfer_amount__gt=0)),
            models.CheckConstraint(
                name="attempt_transfer_is_amount_less_offset",
                condition=models.Q(offset__gte=0)
                & models.Q(transfer_amount=models.F("amount_to_pay") - models.F("offset")),
            ),
        ]

    def __str__(self):
        return f"{self.end_to_end_id} — {euros(self.transfer_amount)}"


class BankReturn(models.Model):
    """A bank return file imported (pain.002 or camt.054): the same file (SHA-256) is applied once."""

    sha256 = models.CharField("empreinte SHA-256", max_length=64, unique=True)
    kind = models.CharField("type de message", max_length=32)
    message_id = models.CharField("identifiant du message", max_length=35, blank=True)
    file_name = models.CharField("nom du fichier", max_length=120)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="importé par", on_delete=models.PROTECT, null=True, related_name="+"
    )
    imported_at = models.DateTimeField("importé le")
    report = models.JSONField("compte rendu", default=dict)

    class Meta:
        verbose_name = "retour bancaire importé"
        verbose_name_plural = "retours bancaires importés"
        ordering = ["-imported_at"]

    def __str__(self):
        return f"{self.kind} {self.message_id or self.file_name}"


class Recovery(models.Model):
    """An undue payment (indu) claimed back through an adversarial procedure.

    notice (amount and grounds) → observations period → reasoned decision (confirmed,
    reduced, waived) → recovery order → recovered or offset; every step is logged as an
    event of the claim concerned. Never more than was paid; amounts are in the terms paid (VAT
    included where the payment carried VAT).
    """

    claim = models.ForeignKey(
        Claim, verbose_name="demande concernée", on_delete=models.PROTECT, related_name="recoveries"
    )
    payments = models.ManyToManyField(Payment, verbose_name="paiements concernés", related_name="recoveries")
    state = models.CharField("état", max_length=16, choices=RecoveryState.choices, editable=False)
    amount_notified = models.DecimalField("montant notifié", max_digits=12, decimal_places=2, editable=False)
    grounds = models.TextField("motifs", editable=False)
    observations_due = models.DateField("observations attendues avant le", editable=False)
    observations = models.TextField("observations de l'opérateur", blank=True, editable=False)
    observations_received_at = models.DateTimeField("observations reçues le", null=True, blank=True, editable=False)
    decision = models.CharField("décision", max_length=16, choices=RecoveryDecision.choices, blank=True, editable=False)
    decision_reason = models.TextField("motivation de la décision", blank=True, editable=False)
    amount_due = models.DecimalField(
        "montant à reverser", max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="décidé par", on_delete=models.PROTECT, null=True, related_name="+"
    )
    decided_at = models.DateTimeField("décidé le", null=True, blank=True, editable=False)
    order_reference = models.CharField("référence de l'ordre de reversement", max_length=64, blank=True, editable=False)
    order_issued_at = models.DateTimeField("ordre émis le", null=True, blank=True, editable=False)
    offset_payment = models.ForeignKey(
        Payment,
        verbose_name="compensé sur le paiement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offset_recoveries",
    )
    settled_at = models.DateTimeField("soldé le", null=True, blank=True, editable=False)
    settlement_note = models.TextField("note de clôture", blank=True, editable=False)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="ouvert par", on_delete=models.PROTECT)
    opened_at = models.DateTimeField("ouvert le")

    class Meta:
        verbose_name = "indu (ordre de reversement)"
        verbose_name_plural = "indus (ordres de reversement)"
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(name="recovery_amount_positive", condition=models.Q(amount_notified__gt=0)),
            models.CheckConstraint(
                name="recovery_due_within_notified",
                condition=models.Q(amount_due__isnull=True) | models.Q(amount_due__lte=models.F("amount_notified")),
            ),
        ]
        indexes = [models.Index(fields=["state"], name="recovery_state_idx")]  # dashboard: open cases

    def __str__(self):
        return f"Indu n° {self.pk} — {self.claim.operator.legal_name} ({euros(self.amount_notified)})"


class SentNotification(models.Model):
    """One row per reminder or e-mail already sent: makes jobs safe to run twice."""

    key = models.CharField(max_length=200, unique=True)
    # For transition e-mails: the event notified (the outbox flush looks for events without one).
    event = models.OneToOneField(
        ClaimEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="notification"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "notification envoyée"
        verbose_name_plural = "notifications envoyées"

    def __str__(self):
        return self.key


class AuditCheckpoint(AppendOnlyModel):
    """The head of every audit chain (claims and enrolments) at one moment, signed with the audit
    key and, when a time-stamp authority is configured, stamped by it (RFC 3161).

    `document` is the canonical JSON that was signed and stamped, kept byte for byte. A later
    verification checks that every chain still extends it (`verify_audit`).
    """

    created_at = models.DateTimeField("créé le")
    document = models.TextField("contenu signé")
    key_id = models.CharField("clé d'audit", max_length=32)
    signature = models.CharField("signature (HMAC-SHA256)", max_length=64)
    tsa_url = models.CharField("autorité d'horodatage", max_length=500, blank=True)
    tsa_response = models.BinaryField("jeton d'horodatage (RFC 3161, DER)", null=True, blank=True)
    tsa_time = models.DateTimeField("horodaté le", null=True, blank=True)

    class Meta:
        verbose_name = "point de contrôle du journal"
        verbose_name_plural = "points de contrôle du journal"
        get_latest_by = "pk"

    def __str__(self):
        return f"Point de contrôle n° {self.pk} du {self.created_at:%d/%m/%Y %H:%M}"
