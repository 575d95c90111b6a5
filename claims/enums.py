from django.db import models


class ClaimKind(models.TextChoices):
    ADVANCE = "advance", "Avance"
    BALANCE = "balance", "Solde"


class ClaimState(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SUBMITTED = "submitted", "Déposée"
    IN_REVIEW = "in_review", "En instruction"
    CHANGES_REQUESTED = "changes_requested", "Compléments demandés"
    APPROVED = "approved", "Approuvée"
    PAID = "paid", "Payée"
    REJECTED = "rejected", "Rejetée"
    WITHDRAWN = "withdrawn", "Retirée"
    LAPSED = "lapsed", "Caduque"


# A claim in one of these states no longer blocks a new claim of the same kind.
# (A rejected claim stays live: a validator may reopen it.)
ENDED_STATES = (ClaimState.WITHDRAWN, ClaimState.LAPSED)
# States in which the operator may still add or replace proofs.
EDITABLE_STATES = (ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED)


class DocumentKind(models.TextChoices):
    CONTRACT_V2 = "contract_v2", "Contrat opérateur MSSanté v2"
    CONFORMITY_REPORT = "conformity_report", "Rapport de conformité"
    PROVIDER_CONFORMITY_REPORT = "provider_conformity_report", "Rapport de conformité de l'opérateur prestataire"
    INVOICE = "invoice", "Facture d'achat du connecteur"
    CONFORMITY_COMMITMENT = "conformity_commitment", "Engagement de conformité du parc (Annexe 2)"
    END_CLIENT_CONTRACTS = "end_client_contracts", "Contrats avec les clients finaux"
    OTHER = "other", "Autre pièce"
    DECISION_LETTER = "decision_letter", "Lettre de décision"
    RECOVERY_OBSERVATIONS = "recovery_observations", "Observations sur un indu"
    RECEIPT = "receipt", "Accusé de dépôt"


# Documents the platform makes (never uploaded): decision letters and filing receipts.
GENERATED_KINDS = (DocumentKind.DECISION_LETTER, DocumentKind.RECEIPT)
# Proofs an operator (or an agent on its behalf) may upload as such; letters and receipts are generated,
# attachments to observations on an undue payment come with the observations (claims.recoveries).
UPLOADABLE_KINDS = tuple(k for k in DocumentKind if k not in (*GENERATED_KINDS, DocumentKind.RECOVERY_OBSERVATIONS))


class RecoveryState(models.TextChoices):
    NOTIFIED = "notified", "Notifié — observations en cours"
    DECIDED = "decided", "Décision rendue"
    ORDER_ISSUED = "order_issued", "Ordre de reversement émis"
    RECOVERED = "recovered", "Recouvré"
    OFFSET = "offset", "Compensé sur un paiement"
    WAIVED = "waived", "Abandonné (remise)"
    CANCELLED = "cancelled", "Annulé"


# Recovery cases still running: they count against what may still be claimed back.
OPEN_RECOVERY_STATES = (RecoveryState.NOTIFIED, RecoveryState.DECIDED, RecoveryState.ORDER_ISSUED)


class RecoveryDecision(models.TextChoices):
    CONFIRMED = "confirmed", "Indu confirmé"
    REDUCED = "reduced", "Indu réduit"
    WAIVED = "waived", "Remise totale"


class BatchState(models.TextChoices):
    GENERATED = "generated", "Généré"
    SENT = "sent", "Transmis à la banque"
    SETTLED = "settled", "Réglé"
    PARTLY_RETURNED = "partly_returned", "Réglé avec des virements retournés"
    CANCELLED = "cancelled", "Annulé"


class AttemptState(models.TextChoices):
    """One batch line: a claim's payment attempt. "Payable", "ordered" and "returned" are read from
    these, never stored on the claim."""

    ORDERED = "ordered", "Ordre de paiement émis"
    PAID = "paid", "Payé"
    RETURNED = "returned", "Rejeté ou retourné par la banque"
    CANCELLED = "cancelled", "Annulé avec le lot"


# A claim has at most one attempt in these states (database constraint): ordered, or paid and not returned.
LIVE_ATTEMPT_STATES = (AttemptState.ORDERED, AttemptState.PAID)


class FeedEventType(models.TextChoices):
    """The `type` of an event of the feed (GET /api/v1/events); the first two are also sent to webhooks."""

    CLAIM_CREATED = "claim.created", "Demande créée"
    CLAIM_STATE_CHANGED = "claim.state_changed", "Changement d'état d'une demande"
    CLAIM_UPDATED = "claim.updated", "Demande complétée (pièce, informations, courrier, délai)"
    ENROLMENT_CREATED = "enrolment.created", "Demande d'enrôlement déposée"
    ENROLMENT_STATE_CHANGED = "enrolment.state_changed", "Changement d'état de l'enrôlement"
    ENROLMENT_UPDATED = "enrolment.updated", "Enrôlement complété"
    WEBHOOK_DELIVERY_FAILED = "webhook.delivery_failed", "Livraison de webhook abandonnée"
