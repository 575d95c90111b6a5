from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce, Lower

from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from operators.validators import validate_bic, validate_iban, validate_siren, validate_siret


class Operator(models.Model):
    """A legal entity (SIREN) running an MSSanté secure-messaging service."""

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

    class Meta:
        verbose_name = "contrat opérateur MSSanté v2"
        verbose_name_plural = "contrats opérateur MSSanté v2"
        ordering = ["-signed_on"]
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
