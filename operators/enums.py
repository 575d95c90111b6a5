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


class EnrolmentState(models.TextChoices):
    PENDING = "pending", "En attente d'instruction"
    CHANGES_REQUESTED = "changes_requested", "Compléments demandés"
    VALIDATED = "validated", "Validée"
    REJECTED = "rejected", "Rejetée"


# An enrolment in one of these states is still open: one per user at a time.
OPEN_ENROLMENT_STATES = (EnrolmentState.PENDING, EnrolmentState.CHANGES_REQUESTED)


class EnrolmentDocumentKind(models.TextChoices):
    REFERENCING_CERTIFICATE = "referencing_certificate", "Attestation de référencement ANS"
    REPRESENTATIVE_ID = "representative_id", "Pièce d'identité du représentant légal"
    BANK_DETAILS = "bank_details", "Relevé d'identité bancaire (RIB)"
    VAT_CERTIFICATE = "vat_certificate", "Attestation d'assujettissement à la TVA"
    VAT_NON_LIABILITY = "vat_non_liability", "Déclaration de non-assujettissement à la TVA"
    CONTRACT_V2 = "contract_v2", "Contrat opérateur MSSanté v2 signé par l'opérateur"


# Proofs every enrolment needs, whatever it declares; the VAT proof follows the VAT declaration
# (operators.services.enrolment.required_enrolment_proof_kinds is the one list).
BASE_ENROLMENT_PROOFS = (
    EnrolmentDocumentKind.REFERENCING_CERTIFICATE,
    EnrolmentDocumentKind.REPRESENTATIVE_ID,
    EnrolmentDocumentKind.BANK_DETAILS,
)
# Accepted but never required: the signed contract v2 becomes a task for ANS at validation.
OPTIONAL_ENROLMENT_PROOFS = (EnrolmentDocumentKind.CONTRACT_V2,)


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "En cours"
    DELIVERED = "delivered", "Livrée"
    FAILED = "failed", "Échec"


class BankDetailsChangeState(models.TextChoices):
    PENDING = "pending", "En attente de validation"
    VALIDATED = "validated", "Validée"
    REFUSED = "refused", "Refusée"


class FraudFlagKind(models.TextChoices):
    SHARED_IBAN = "shared_iban", "IBAN partagé entre plusieurs opérateurs"
    REUSED_FILE = "reused_file", "Même fichier (SHA-256) déposé plusieurs fois"


class CompanyCheck(models.TextChoices):
    """What the State's company directory (Recherche d'entreprises, Sirene data) said of a declared SIREN/SIRET."""

    NOT_CHECKED = "", "non contrôlé"
    VERIFIED = "verified", "vérifié"
    # The directory was unreachable at filing: accepted, flagged for the agent, retried by a periodic job.
    UNVERIFIED = "unverified", "non vérifié (service indisponible)"
    # Found by the retry job only (at filing these are refused): the agent decides.
    CLOSED = "closed", "fermé"
    UNKNOWN = "unknown", "inconnu"
