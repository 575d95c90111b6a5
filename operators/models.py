import uuid
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce, Lower

from common.audit import ChainedEvent
from common.labels import BANK_DETAILS_EVENT_LABELS, ENROLMENT_EVENT_LABELS
from common.models import StoredFile
from operators.enums import (
    OPEN_ENROLMENT_STATES,
    BankDetailsChangeState,
    CompanyCheck,
    ContractStatus,
    EnrolmentDocumentKind,
    EnrolmentState,
    FraudFlagKind,
    OperatorKind,
    ReferencingStatus,
    WebhookDeliveryStatus,
)
from operators.validators import validate_bic, validate_iban, validate_siren, validate_siret


class Operator(models.Model):
    """A legal entity (SIREN) running an MSSanté secure-messaging service.

    Fields added after the first migrations carry a `db_default`, so that rows written through an
    older migration state (data migrations, migration tests) still get a value.
    """

    legal_name = models.CharField("raison sociale", max_length=255)
    siren = models.CharField("SIREN", max_length=9, unique=True, validators=[validate_siren])
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[validate_siret])
    kind = models.CharField("type d'opérateur", max_length=16, choices=OperatorKind.choices)
    provider = models.ForeignKey(
        "self",
        verbose_name="opérateur prestataire",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="buyers",
        help_text="Pour un opérateur acheteur : l'opérateur développeur référencé qui lui fournit le connecteur.",
    )
    iban = models.CharField("IBAN", max_length=34, blank=True, validators=[validate_iban])
    bic = models.CharField("BIC", max_length=11, blank=True, validators=[validate_bic])
    contact_email = models.EmailField("e-mail de contact", blank=True)
    vat_liable = models.BooleanField(
        "assujetti à la TVA",
        default=True,
        db_default=True,
        help_text="Déclaré à l'enrôlement (attestation ou déclaration de non-assujettissement) ; "
        "un opérateur non assujetti est payé hors TVA.",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    class Meta:
        verbose_name = "opérateur"
        verbose_name_plural = "opérateurs"
        ordering = ["legal_name"]
        constraints = [
            models.CheckConstraint(
                name="operator_provider_only_for_buyers",
                condition=models.Q(kind=OperatorKind.BUYER, provider__isnull=False)
                | models.Q(kind=OperatorKind.DEVELOPER, provider__isnull=True),
            ),
            models.CheckConstraint(name="operator_not_own_provider", condition=~models.Q(provider=models.F("id"))),
        ]

    def __str__(self):
        return f"{self.legal_name} ({self.siren})"

    def clean(self):
        self.siret = (self.siret or "").replace(" ", "")
        if self.siret and self.siren and not self.siret.startswith(self.siren):
            raise ValidationError({"siret": "Le SIRET doit commencer par le SIREN de l'opérateur."})
        if self.kind == OperatorKind.BUYER:
            if self.provider_id is None:
                raise ValidationError({"provider": "Un opérateur acheteur doit indiquer son opérateur prestataire."})
            if self.pk is not None and self.provider_id == self.pk:
                raise ValidationError({"provider": "Un opérateur ne peut pas être son propre prestataire."})
            if self.provider.kind != OperatorKind.DEVELOPER:
                raise ValidationError({"provider": "Le prestataire doit être un opérateur développeur."})
        elif self.provider_id is not None:
            raise ValidationError({"provider": "Seul un opérateur acheteur a un prestataire."})

    @property
    def is_buyer(self):
        return self.kind == OperatorKind.BUYER

    @property
    def referencing_number(self):
        """The valid ANS referencing number, or None (uses prefetched rows when available)."""
        for ref in self.referencings.all():
            if ref.status == ReferencingStatus.VALID:
                return ref.number
        return None


class MailDomain(models.Model):
    """An MSSanté mail domain run by an operator over a period; mailboxes are attributed through it.

    A domain belongs to one operator at a time; when a park is transferred the domain's
    period with the first operator ends and a new one starts with the other.
    """

    operator = models.ForeignKey(Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="domains")
    name = models.CharField("domaine", max_length=253)
    valid_from = models.DateField("valable du", null=True, blank=True, help_text="Vide : depuis toujours.")
    valid_until = models.DateField("valable jusqu'au", null=True, blank=True, help_text="Vide : toujours valable.")

    class Meta:
        verbose_name = "domaine MSSanté"
        verbose_name_plural = "domaines MSSanté"
        ordering = ["name", "valid_from"]
        constraints = [
            # One period per domain and start date; overlaps are refused by clean() (and the import service).
            models.UniqueConstraint(
                Lower("name"),
                Coalesce("valid_from", models.Value(date(1900, 1, 1))),
                name="maildomain_name_start_unique_ci",
            ),
            models.CheckConstraint(
                name="maildomain_period_ordered",
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
            ),
        ]
        indexes = [
            # Attribution of mailboxes to operators: lookup by domain name.
            models.Index(Lower("name"), name="maildomain_name_lower_idx"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.name = (self.name or "").strip().lower()
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "La fin de validité précède son début."})
        overlapping = MailDomain.objects.filter(name__iexact=self.name).exclude(pk=self.pk)
        if self.valid_until:
            overlapping = overlapping.filter(
                models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=self.valid_until)
            )
        if self.valid_from:
            overlapping = overlapping.filter(
                models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=self.valid_from)
            )
        if overlapping.exists():
            raise ValidationError(
                {"name": "Ce domaine est déjà attribué à un opérateur sur une période qui chevauche."}
            )


class ContractV2(models.Model):
    """The MSSanté operator contract v2: must be countersigned by ANS before any funding."""

    operator = models.ForeignKey(Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="contracts")
    status = models.CharField("statut", max_length=24, choices=ContractStatus.choices)
    signed_on = models.DateField("signé par l'opérateur le")
    countersigned_on = models.DateField("contresigné par l'ANS le", null=True, blank=True)
    terminated_on = models.DateField("résilié le", null=True, blank=True)
    # The uploaded signed copy this row comes from (a claim or enrolment proof), when it does.
    signed_document = models.CharField("pièce signée déposée", max_length=255, blank=True, db_default="")
    signed_document_sha256 = models.CharField(
        "empreinte SHA-256 de la pièce signée", max_length=64, blank=True, db_default=""
    )
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="contre-signature enregistrée par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    countersigned_at = models.DateTimeField("contre-signature enregistrée le", null=True, blank=True)

    class Meta:
        verbose_name = "contrat opérateur MSSanté v2"
        verbose_name_plural = "contrats opérateur MSSanté v2"
        ordering = ["-signed_on"]
        indexes = [
            # Agents' to-do list: contracts signed by the operator, awaiting ANS countersignature.
            models.Index(fields=["status", "signed_on"], name="contractv2_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="contract_countersigned_has_date",
                condition=~models.Q(status=ContractStatus.COUNTERSIGNED) | models.Q(countersigned_on__isnull=False),
            ),
            models.CheckConstraint(
                name="contract_terminated_has_date",
                condition=~models.Q(status=ContractStatus.TERMINATED) | models.Q(terminated_on__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Contrat v2 {self.operator.legal_name} — {self.get_status_display()}"

    def clean(self):
        if self.status == ContractStatus.COUNTERSIGNED and not self.countersigned_on:
            raise ValidationError({"countersigned_on": "Indiquez la date de contre-signature par l'ANS."})
        if self.status == ContractStatus.TERMINATED and not self.terminated_on:
            raise ValidationError({"terminated_on": "Indiquez la date de résiliation."})
        if self.countersigned_on and self.signed_on and self.countersigned_on < self.signed_on:
            raise ValidationError({"countersigned_on": "La contre-signature ne peut précéder la signature."})


class Referencing(models.Model):
    """The referencing number given by ANS after conformity tests on its test platform."""

    operator = models.ForeignKey(
        Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="referencings"
    )
    number = models.CharField("numéro de référencement", max_length=64, unique=True)
    status = models.CharField(
        "statut", max_length=16, choices=ReferencingStatus.choices, default=ReferencingStatus.VALID
    )
    granted_on = models.DateField("obtenu le")

    class Meta:
        verbose_name = "référencement ANS"
        verbose_name_plural = "référencements ANS"
        ordering = ["-granted_on"]
        constraints = [
            # At most one valid referencing per operator: the number the guards check.
            models.UniqueConstraint(
                fields=["operator"], condition=models.Q(status=ReferencingStatus.VALID), name="referencing_one_valid"
            )
        ]

    def __str__(self):
        return self.number


class Membership(models.Model):
    """Links a portal user to the one operator they act for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="utilisateur", on_delete=models.CASCADE, related_name="membership"
    )
    operator = models.ForeignKey(
        Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="memberships"
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    class Meta:
        verbose_name = "rattachement utilisateur"
        verbose_name_plural = "rattachements utilisateurs"

    def __str__(self):
        return f"{self.user} → {self.operator.legal_name}"


# --- Enrolment (docs/spec/SPEC.md §4a) ----------------------------------------------------------------------


class Enrolment(models.Model):
    """A representative's request to act for a legal entity, instructed by an agent.

    `state` and `operator` are only written by `operators.services` (pending → changes
    requested → pending … → validated / rejected), each change with an `EnrolmentEvent`.
    The declared fields are copied onto the Operator when an agent validates.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="représentant", on_delete=models.PROTECT, related_name="enrolments"
    )
    state = models.CharField(
        "état", max_length=24, choices=EnrolmentState.choices, default=EnrolmentState.PENDING, editable=False
    )
    legal_name = models.CharField("raison sociale", max_length=255)
    siren = models.CharField("SIREN", max_length=9, validators=[validate_siren])
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[validate_siret])
    kind = models.CharField("type d'opérateur", max_length=16, choices=OperatorKind.choices)
    # A buyer names its provider as the representative knows it; the agent's link is `provider`.
    provider_siren = models.CharField(
        "SIREN de l'opérateur prestataire", max_length=9, blank=True, db_default="", validators=[validate_siren]
    )
    provider_referencing_number = models.CharField(
        "numéro de référencement de l'opérateur prestataire", max_length=64, blank=True, db_default=""
    )
    provider = models.ForeignKey(
        Operator,
        verbose_name="opérateur prestataire rattaché",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": OperatorKind.DEVELOPER},
        help_text="Rattaché automatiquement à la validation quand un opérateur développeur porte le SIREN et "
        "le numéro de référencement déclarés ; sinon, choisissez-le avant de valider.",
    )
    referencing_number = models.CharField("numéro de référencement", max_length=64)
    iban = models.CharField("IBAN", max_length=34, validators=[validate_iban])
    bic = models.CharField("BIC", max_length=11, validators=[validate_bic])
    contact_email = models.EmailField("e-mail de contact", blank=True)
    vat_liable = models.BooleanField("assujettie à la TVA", default=True, db_default=True)

    operator = models.ForeignKey(
        Operator,
        verbose_name="opérateur créé ou mis à jour",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrolments",
        editable=False,
    )
    agent_message = models.TextField("demande de compléments", blank=True, editable=False)
    decision_reason = models.TextField("motif de la décision", blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    submitted_at = models.DateTimeField("déposée le", null=True, blank=True, editable=False)
    # The SIREN/SIRET as the company directory saw it at filing (operators.company); "unverified" rows
    # are looked up again by the periodic job `operators.tasks.recheck_companies`.
    company_check = models.CharField(
        "contrôle SIREN/SIRET", max_length=16, choices=CompanyCheck.choices, blank=True, default="", editable=False
    )
    company_name = models.CharField("raison sociale (répertoire Sirene)", max_length=255, blank=True, editable=False)
    company_checked_at = models.DateTimeField("contrôlé le", null=True, blank=True, editable=False)
    # Hash of the newest event: the head of this enrolment's audit chain.
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "demande d'enrôlement"
        verbose_name_plural = "demandes d'enrôlement"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(state__in=OPEN_ENROLMENT_STATES),
                name="enrolment_one_open_per_user",
                violation_error_message="Une demande d'enrôlement est déjà en cours pour cet utilisateur.",
            )
        ]
        indexes = [
            # Agents' queue (admin list filtered by state) and duplicate checks by SIREN.
            models.Index(fields=["state", "created_at"], name="enrolment_state_idx"),
            models.Index(fields=["siren"], name="enrolment_siren_idx"),
        ]

    def __str__(self):
        return f"Enrôlement n° {self.pk} — {self.legal_name} ({self.siren})"

    @property
    def is_open(self):
        return self.state in OPEN_ENROLMENT_STATES


def enrolment_storage_name(instance, filename):
    # Never the user's name: a fresh UUID under the enrolment, so nothing is ever overwritten.
    return f"enrolments/{instance.enrolment_id}/{uuid.uuid4().hex}{instance.extension}"


class EnrolmentDocument(StoredFile):
    """A proof attached to an enrolment. Never overwritten: a new upload is a new version."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name="enrôlement", on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField("type de pièce", max_length=32, choices=EnrolmentDocumentKind.choices)
    file = models.FileField("fichier", upload_to=enrolment_storage_name, max_length=255)

    class Meta:
        verbose_name = "pièce d'enrôlement"
        verbose_name_plural = "pièces d'enrôlement"
        ordering = ["enrolment", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "kind", "version"], name="enrolmentdocument_version_unique")
        ]


class EnrolmentEvent(ChainedEvent):
    """One row of an enrolment's history: append-only and hash-chained (common.audit)."""

    CHAIN_PARENT = "enrolment"
    LABELS = ENROLMENT_EVENT_LABELS

    enrolment = models.ForeignKey(Enrolment, verbose_name="enrôlement", on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField("état avant", max_length=24, choices=EnrolmentState.choices, blank=True)
    to_state = models.CharField("état après", max_length=24, choices=EnrolmentState.choices)

    class Meta:
        verbose_name = "événement d'enrôlement"
        verbose_name_plural = "historique de l'enrôlement"
        ordering = ["enrolment", "seq"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "seq"], name="enrolmentevent_seq_unique")]


class Invitation(models.Model):
    """A colleague invited by an operator's manager; accepting it creates an active member.

    Only the SHA-256 of the token is stored: the token itself travels in the e-mail only.
    """

    operator = models.ForeignKey(
        Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField("e-mail invité")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="invité par", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    expires_at = models.DateTimeField("expire le")
    accepted_at = models.DateTimeField("acceptée le", null=True, blank=True)
    accepted_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="compte créé",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitation",
    )
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)

    class Meta:
        verbose_name = "invitation"
        verbose_name_plural = "invitations"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.operator.legal_name}"

    def status_at(self, at):
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= at:
            return "expired"
        return "pending"


# --- Webhooks ------------------------------------------------------------------------------------


class Webhook(models.Model):
    """An https endpoint of an operator's system, told of every state change of its claims.

    The secret signs each payload (HMAC-SHA256); it must be usable to sign, so it is stored,
    sealed with a key derived from SECRET_KEY (operators.secret_box), and the API shows it only
    once, at creation and at each rotation.
    """

    operator = models.ForeignKey(Operator, verbose_name="opérateur", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField("adresse https", max_length=500)
    sealed_secret = models.CharField("secret de signature (chiffré)", max_length=255, editable=False)
    is_active = models.BooleanField("actif", default=True)
    consecutive_failures = models.PositiveIntegerField("échecs consécutifs", default=0, editable=False)
    disabled_at = models.DateTimeField("désactivé le", null=True, blank=True, editable=False)
    disabled_reason = models.CharField("motif de désactivation", max_length=255, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créé par", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    secret_rotated_at = models.DateTimeField("secret renouvelé le", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook"
        verbose_name_plural = "webhooks"
        ordering = ["operator", "created_at"]
        indexes = [
            # Fan-out of a claim event: the active hooks of one operator.
            models.Index(fields=["operator", "is_active"], name="webhook_operator_active_idx"),
        ]

    def __str__(self):
        return f"{self.operator.legal_name} → {self.url}"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook: the delivery log the operator reads."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, verbose_name="webhook", on_delete=models.CASCADE, related_name="deliveries")
    event_key = models.CharField("événement", max_length=64)
    event_type = models.CharField("type d'événement", max_length=64)
    payload = models.JSONField("contenu")
    status = models.CharField(
        "statut", max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    response_status = models.PositiveSmallIntegerField("code HTTP reçu", null=True, blank=True)
    last_error = models.CharField("dernière erreur", max_length=500, blank=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    last_attempt_at = models.DateTimeField("dernière tentative", null=True, blank=True)
    delivered_at = models.DateTimeField("livrée le", null=True, blank=True)

    class Meta:
        verbose_name = "livraison de webhook"
        verbose_name_plural = "livraisons de webhook"
        ordering = ["-created_at"]
        constraints = [
            # One delivery per hook and event: a fan-out run twice sends nothing twice.
            models.UniqueConstraint(fields=["webhook", "event_key"], name="webhookdelivery_once_per_event")
        ]
        indexes = [
            # Outbox flush: pending deliveries whose task was lost.
            models.Index(fields=["status", "created_at"], name="webhookdelivery_status_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.webhook.url} ({self.get_status_display()})"


# --- Bank details and fraud signals --------------------------------------------------------------


class BankDetailsChange(models.Model):
    """An operator's request to be paid on another account, decided by an agent.

    `state` is only written by `operators.services.bank_details` (pending → validated / refused),
    each change with a `BankDetailsEvent`. Validation copies IBAN and BIC onto the Operator, whose
    fields are thus always the last validated details (enrolment or change); a pending request
    changes nothing that is paid.
    """

    operator = models.ForeignKey(
        Operator, verbose_name="opérateur", on_delete=models.PROTECT, related_name="bank_details_changes"
    )
    iban = models.CharField("nouvel IBAN", max_length=34, validators=[validate_iban])
    bic = models.CharField("nouveau BIC", max_length=11, validators=[validate_bic])
    state = models.CharField(
        "état",
        max_length=16,
        choices=BankDetailsChangeState.choices,
        default=BankDetailsChangeState.PENDING,
        editable=False,
    )
    previous_iban = models.CharField("IBAN remplacé", max_length=34, blank=True, editable=False)
    previous_bic = models.CharField("BIC remplacé", max_length=11, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="demandée par", on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField("demandée le")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True, editable=False)
    decision_reason = models.TextField("motif de la décision", blank=True, editable=False)
    # Hash of the newest event: the head of this request's audit chain.
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "changement de coordonnées bancaires"
        verbose_name_plural = "changements de coordonnées bancaires"
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator"],
                condition=models.Q(state=BankDetailsChangeState.PENDING),
                name="bankdetailschange_one_pending",
                violation_error_message="Un changement de coordonnées bancaires est déjà en attente.",
            ),
        ]
        indexes = [
            # Agents' queue (admin list filtered by state) and the shared-IBAN check on pending requests.
            models.Index(fields=["state", "requested_at"], name="bankdetailschange_state_idx"),
            models.Index(fields=["iban"], name="bankdetailschange_iban_idx"),
        ]

    def __str__(self):
        return f"Coordonnées bancaires n° {self.pk} — {self.operator.legal_name}"

    @property
    def is_pending(self):
        return self.state == BankDetailsChangeState.PENDING


def bank_details_storage_name(instance, filename):
    # Never the user's name: a fresh UUID under the request, so nothing is ever overwritten.
    return f"bank-details/{instance.change_id}/{uuid.uuid4().hex}{instance.extension}"


class BankDetailsProof(StoredFile):
    """The RIB proving a requested account (one per request, checked by content like every proof)."""

    RIB = "rib"

    change = models.OneToOneField(
        BankDetailsChange, verbose_name="changement", on_delete=models.PROTECT, related_name="proof"
    )
    kind = models.CharField(
        "type de pièce", max_length=16, choices=[(RIB, "Relevé d'identité bancaire (RIB)")], default=RIB
    )
    file = models.FileField("fichier", upload_to=bank_details_storage_name, max_length=255)

    class Meta:
        verbose_name = "RIB d'un changement de coordonnées"
        verbose_name_plural = "RIB des changements de coordonnées"
        indexes = [
            # Reused-file detection looks proofs up by their hash.
            models.Index(fields=["sha256"], name="bankdetailsproof_sha256_idx"),
        ]


class BankDetailsEvent(ChainedEvent):
    """One row of a bank-details request's history: append-only and hash-chained (common.audit)."""

    CHAIN_PARENT = "change"
    LABELS = BANK_DETAILS_EVENT_LABELS

    change = models.ForeignKey(
        BankDetailsChange, verbose_name="changement", on_delete=models.PROTECT, related_name="events"
    )
    from_state = models.CharField("état avant", max_length=16, choices=BankDetailsChangeState.choices, blank=True)
    to_state = models.CharField("état après", max_length=16, choices=BankDetailsChangeState.choices)

    class Meta:
        verbose_name = "événement de coordonnées bancaires"
        verbose_name_plural = "historique des coordonnées bancaires"
        ordering = ["change", "seq"]
        constraints = [models.UniqueConstraint(fields=["change", "seq"], name="bankdetailsevent_seq_unique")]


class FraudFlag(models.Model):
    """A fraud signal on one party: an operator, or an enrolment not yet validated (`operator` empty).

    Raised by `operators.services.fraud_signals_detect` (once per party, kind and key: the IBAN or
    the SHA-256), cleared only by an agent with a reason. An open flag keeps the operator out of
    payments (`operators.selectors.payment_blockers`); a cleared one is never raised again for the
    same party and key.
    """

    operator = models.ForeignKey(
        Operator,
        verbose_name="opérateur",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fraud_flags",
    )
    enrolment = models.ForeignKey(
        Enrolment,
        verbose_name="demande d'enrôlement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fraud_flags",
    )
    kind = models.CharField("signal", max_length=16, choices=FraudFlagKind.choices)
    key = models.CharField("IBAN ou empreinte SHA-256", max_length=64)
    detail = models.TextField("constat")
    detected_at = models.DateTimeField("détecté le")
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="levé par",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cleared_at = models.DateTimeField("levé le", null=True, blank=True)
    clear_reason = models.TextField("motif de la levée", blank=True)

    class Meta:
        verbose_name = "signal de fraude"
        verbose_name_plural = "signaux de fraude"
        ordering = ["-detected_at"]
        constraints = [
            models.CheckConstraint(
                name="fraudflag_has_party",
                condition=models.Q(operator__isnull=False) | models.Q(enrolment__isnull=False),
            ),
            models.CheckConstraint(
                name="fraudflag_cleared_with_reason",
                condition=models.Q(cleared_at__isnull=True, cleared_by__isnull=True)
                | (models.Q(cleared_at__isnull=False, cleared_by__isnull=False) & ~models.Q(clear_reason="")),
            ),
            # One flag per party, kind and key: the detection may run any number of times.
            models.UniqueConstraint(
                fields=["operator", "kind", "key"],
                condition=models.Q(operator__isnull=False),
                name="fraudflag_once_per_operator",
            ),
            models.UniqueConstraint(
                fields=["enrolment", "kind", "key"],
                condition=models.Q(operator__isnull=True),
                name="fraudflag_once_per_enrolment",
            ),
        ]
        indexes = [
            # payment_blockers and the warnings: the open flags of one operator.
            models.Index(fields=["operator", "cleared_at"], name="fraudflag_operator_open_idx"),
        ]

    def __str__(self):
        party = self.operator.legal_name if self.operator_id else f"enrôlement n° {self.enrolment_id}"
        return f"{self.get_kind_display()} — {party}"

    @property
    def is_open(self):
        return self.cleared_at is None


# --- API tokens ----------------------------------------------------------------------------------


class ApiToken(models.Model):
    """A named API token of a user (`Authorization: Token <key>`), shown once when issued.

    Only the SHA-256 of the key is stored. `password_fingerprint` is an HMAC of the password hash
    the token was issued under (operators.auth.password_fingerprint): once the password changes, by
    any path, the token no longer authenticates.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="utilisateur", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("nom", max_length=100)
    digest = models.CharField("empreinte du jeton", max_length=64, unique=True, editable=False)
    password_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField("créé le")
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    expires_at = models.DateTimeField("expire le")

    class Meta:
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"
        # The portal's list and the cap on live tokens per user.
        indexes = [models.Index(fields=["user", "created_at"], name="apitoken_user_created_idx")]

    def __str__(self):
        return f"{self.name} ({self.user})"
