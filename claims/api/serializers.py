"""Claims API serializers: inputs are shapes only (services decide), outputs say what the operator may do."""

from datetime import datetime

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from claims import selectors
from claims.enums import UPLOADABLE_KINDS, ClaimKind, DocumentKind
from claims.models import Claim, ClaimEvent, Document, Recovery
from claims.recoveries import OBSERVATIONS_MAX_CHARS, OBSERVATIONS_MAX_FILES, observation_period_open
from claims.services import CLAIM_ABILITIES, claim_abilities
from common.serializers import InputSerializer, StrictCharField, StrictEmailField, StrictURLField
from funding.api.serializers import BreakdownSerializer, CountsSerializer
from funding.calendar import end_of_day
from funding.enums import CountSource
from funding.models import Campaign

# --- OpenAPI examples ------------------------------------------------------------------------

CLAIM_EXAMPLE = {
    "id": 7,
    "campaign": "demo",
    "kind": "advance",
    "kind_label": "Avance",
    "state": "submitted",
    "state_label": "Déposée",
    "amount": "12345.60",
    "vat_rate": "0.2000",
    "vat": "2469.12",
    "amount_to_pay": "14814.72",
    "created_at": "2026-11-20T09:00:00+01:00",
    "updated_at": "2026-11-21T10:00:00+01:00",
    "submitted_at": "2026-11-21T10:00:00+01:00",
}
CLAIM_DETAIL_EXAMPLE = {
    **CLAIM_EXAMPLE,
    "schedule_code": "segur-2023",
    "funded_total": "41152.00",
    "breakdown": {
        "schedule": "segur-2023",
        "lines": [
            {"type": "APP", "count": 120, "rate": "58.33", "amount": "6999.60"},
            {"type": "ORG", "count": 2400, "rate": "20.83", "amount": "49992.00"},
            {"type": "PER", "count": 31000, "rate": "5.00", "amount": "155000.00"},
        ],
        "base": "6666.67",
        "subtotal": "218658.27",
        "cap": "250000.00",
        "capped": False,
        "total": "218658.27",
        "advance": "65597.48",
        "balance": "153060.79",
        "counts_as_of": "2026-10-24",
        "counts_basis": "BAL comptées au 24/10/2026 (chiffres d'au plus 30 jours)",
        "count_sources": {
            kind: {
                "count": count,
                "source": "annuaire",
                "label": "Annuaire Santé",
                "detail": "Extraction du 24/10/2026",
                "as_of": "2026-10-24",
                "overridden": [],
            }
            for kind, count in (("APP", 120), ("ORG", 2400), ("PER", 31000))
        },
        "amount": "65597.48",
        "vat_rate": "0.2000",
        "vat": "13119.50",
        "amount_to_pay": "78716.98",
    },
    "counts": {"APP": 120, "ORG": 2400, "PER": 31000},
    "technical_doc_url": "",
    "correction_message": "",
    "correction_due": None,
    "decision_reason": "",
    "decided_at": None,
    "deadline": "2026-12-23T23:59:59.999999+01:00",
    "abilities": {"submit": False, "withdraw": True, "resubmit": False, "upload": False},
    "required_proofs": [
        {"kind": "conformity_report", "label": "Rapport de conformité", "provided": True, "document": 12, "version": 1}
    ],
}
DOCUMENT_EXAMPLE = {
    "id": 12,
    "kind": "conformity_report",
    "kind_label": "Rapport de conformité",
    "version": 1,
    "original_name": "rapport.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uploaded_by": "op-alpha",
    "uploaded_at": "2026-11-20T09:05:00+01:00",
    "download_url": "/api/v1/claims/7/documents/12/download",
}
EVENT_EXAMPLE = {
    "seq": 3,
    "at": "2026-11-21T10:00:00+01:00",
    "actor": "op-alpha",
    "action": "submit",
    "action_label": "Dépôt de la demande",
    "from_state": "draft",
    "to_state": "submitted",
    "comment": "",
}

RECOVERY_EXAMPLE = {
    "id": 4,
    "claim": 7,
    "state": "notified",
    "state_label": "Notifié — observations en cours",
    "amount_notified": "1000.50",
    "grounds": "Parc client non conforme à la date de clôture.",
    "observations_due": "2026-12-31",
    "observations_deadline": "2026-12-31T23:59:59.999999+01:00",
    "observations_open": True,
    "observations": "",
    "observations_received_at": None,
    "decision": "",
    "decision_label": "",
    "decision_reason": "",
    "amount_due": None,
    "decided_at": None,
    "order_reference": "",
    "order_issued_at": None,
    "settled_at": None,
    "settlement_note": "",
    "opened_at": "2026-12-01T10:00:00+01:00",
    "documents": [
        {
            **DOCUMENT_EXAMPLE,
            "id": 15,
            "kind": "decision_letter",
            "kind_label": "Lettre de décision",
            "original_name": "notification-d-un-indu-7-v1.pdf",
            "uploaded_by": "instructeur",
            "download_url": "/api/v1/claims/7/documents/15/download",
        }
    ],
}


# --- Inputs ------------------------------------------------------------------------------------


class ClaimCreateSerializer(InputSerializer):
    campaign = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Campaign.objects.all(),
        help_text="Code de la campagne (GET /api/v1/campaigns/).",
        error_messages={"does_not_exist": "Campagne inconnue : « {value} »."},
    )
    kind = serializers.ChoiceField(choices=ClaimKind.choices)
    technical_doc_url = StrictURLField(max_length=500, required=False, allow_blank=True)


class ClaimUpdateSerializer(InputSerializer):
    """What a balance declares (each field optional: only those sent change)."""

    technical_doc_url = StrictURLField(
        max_length=500,
        allow_blank=True,
        required=False,
        help_text="Lien https vers la documentation technique (solde).",
    )
    deployment_date = serializers.DateField(
        required=False, allow_null=True, help_text="Date de déploiement du connecteur, au plus tard la clôture (solde)."
    )
    technical_contact_name = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="Contact technique pour les éditeurs (solde)."
    )
    technical_contact_email = StrictEmailField(max_length=254, required=False, allow_blank=True)
    installation_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Opérateur acheteur : date d'installation figurant sur la facture, au plus tard la clôture.",
    )


class CommentSerializer(InputSerializer):
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True)


# What an operator may upload: every proof, not the agency's letters (claims.enums.UPLOADABLE_KINDS).
UPLOADABLE_KIND_CHOICES = [(kind.value, kind.label) for kind in UPLOADABLE_KINDS]


class DocumentUploadSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=UPLOADABLE_KIND_CHOICES)
    file = serializers.FileField(
        allow_empty_file=True, use_url=False, help_text="PDF, PNG ou JPEG (reconnu par son contenu), 20 Mo au plus."
    )


class RecoveryObservationsSerializer(InputSerializer):
    text = StrictCharField(
        max_length=OBSERVATIONS_MAX_CHARS, help_text="Vos observations sur l'indu notifié (obligatoire)."
    )
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        max_length=OBSERVATIONS_MAX_FILES,
        help_text="Pièces jointes : PDF, PNG ou JPEG (reconnus par leur contenu), 20 Mo au plus chacune.",
    )


# --- Outputs -----------------------------------------------------------------------------------


@extend_schema_serializer(examples=[OpenApiExample("Avance déposée", value=CLAIM_EXAMPLE, response_only=True)])
class ClaimSerializer(serializers.ModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="code", read_only=True)
    # Method fields, not CharField(source="get_state_display"): DRF would inspect the bound
    # method's signature for every row, half the time of a 50-claim page (bench/RESULTS.md).
    state_label = serializers.SerializerMethodField()
    kind_label = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "id",
            "campaign",
            "kind",
            "kind_label",
            "state",
            "state_label",
            "amount",
            "vat_rate",
            "vat",
            "amount_to_pay",
            "created_at",
            "updated_at",
            "submitted_at",
        ]

    def get_state_label(self, obj) -> str:
        return obj.get_state_display()

    def get_kind_label(self, obj) -> str:
        return obj.get_kind_display()


class RequiredProofSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    label = serializers.CharField()
    provided = serializers.BooleanField()
    document = serializers.IntegerField(allow_null=True, help_text="Dernière version déposée.")
    version = serializers.IntegerField(allow_null=True)


class OverriddenCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    source = serializers.ChoiceField(choices=CountSource.choices)
    label = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)


class CountSourceLineSerializer(serializers.Serializer):
    """One frozen count (funding.selectors.CountLine.as_dict): the figure, its source and date, and
    the figures of other sources it prevailed over."""

    count = serializers.IntegerField()
    source = serializers.ChoiceField(choices=CountSource.choices)
    label = serializers.CharField()
    detail = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)
    overridden = OverriddenCountSerializer(many=True)


class CountSourcesSerializer(serializers.Serializer):
    APP = CountSourceLineSerializer()
    ORG = CountSourceLineSerializer()
    PER = CountSourceLineSerializer()


class SnapshotSerializer(serializers.Serializer):
    file_name = serializers.CharField()
    as_of = serializers.DateField()
    generated_at = serializers.DateTimeField(allow_null=True)
    sha256 = serializers.CharField()


class ClaimBreakdownSerializer(BreakdownSerializer):
    """Output only: the calculation frozen at submission (claims.pricing.price): the simulator's
    breakdown, then what was counted and from where, and the claim's amount with its VAT."""

    counts_as_of = serializers.DateField(help_text="Jour compté.")
    counts_basis = serializers.CharField(help_text="Jour compté et ancienneté admise, en clair.")
    count_sources = CountSourcesSerializer(
        help_text="Par type : nombre retenu, source, date, et les nombres d'autres sources écartés."
    )
    snapshot = SnapshotSerializer(required=False, help_text="Extraction de l'Annuaire lue, quand il y en a une.")
    advance_granted = serializers.CharField(
        required=False, help_text="Solde seulement : avance approuvée déduite (€ HT)."
    )
    amount = serializers.CharField(help_text="Montant de la demande (€ HT).")
    vat_rate = serializers.CharField()
    vat = serializers.CharField()
    amount_to_pay = serializers.CharField(help_text="Montant à verser, TVA comprise si due.")


ABILITIES_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "boolean"} for name in CLAIM_ABILITIES},
    "required": list(CLAIM_ABILITIES),
    "description": (
        "Ce que l'utilisateur peut faire maintenant : une entrée par transition, `upload` (déposer une pièce), "
        "`extend_deadline` (prolonger la date limite) et `open_recovery` (notifier un indu)."
    ),
}


@extend_schema_serializer(examples=[OpenApiExample("Avance déposée", value=CLAIM_DETAIL_EXAMPLE, response_only=True)])
class ClaimDetailSerializer(ClaimSerializer):
    breakdown = serializers.SerializerMethodField(help_text="Calcul figé au dépôt ; null avant.")
    counts = serializers.SerializerMethodField(help_text="Nombres de BAL retenus au dépôt ; null avant.")
    deadline = serializers.SerializerMethodField(
        help_text="Date limite de dépôt de l'opérateur (dernier instant du jour, heure de Paris)."
    )
    abilities = serializers.SerializerMethodField()
    required_proofs = serializers.SerializerMethodField()

    class Meta(ClaimSerializer.Meta):
        fields = [
            *ClaimSerializer.Meta.fields,
            "schedule_code",
            "funded_total",
            "breakdown",
            "counts",
            "technical_doc_url",
            "deployment_date",
            "technical_contact_name",
            "technical_contact_email",
            "installation_date",
            "correction_message",
            "correction_due",
            "decision_reason",
            "decided_at",
            "deadline",
            "abilities",
            "required_proofs",
        ]

    @extend_schema_field(ClaimBreakdownSerializer(allow_null=True))
    def get_breakdown(self, obj):
        return obj.breakdown

    @extend_schema_field(CountsSerializer(allow_null=True))
    def get_counts(self, obj):
        return obj.counts

    def get_deadline(self, obj) -> datetime:
        deadline = selectors.effective_deadline(operator=obj.operator, campaign=obj.campaign, kind=obj.kind)
        return end_of_day(deadline).isoformat()

    @extend_schema_field(ABILITIES_SCHEMA)
    def get_abilities(self, obj):
        return claim_abilities(user=self.context["request"].user, claim=obj)

    @extend_schema_field(RequiredProofSerializer(many=True))
    def get_required_proofs(self, obj):
        latest = selectors.latest_documents(claim=obj)
        return [
            {
                "kind": kind,
                "label": DocumentKind(kind).label,
                "provided": kind in latest,
                "document": latest[kind].pk if kind in latest else None,
                "version": latest[kind].version if kind in latest else None,
            }
            for kind in selectors.required_proof_kinds(claim=obj)
        ]


@extend_schema_serializer(
    examples=[OpenApiExample("Rapport de conformité", value=DOCUMENT_EXAMPLE, response_only=True)]
)
class DocumentSerializer(serializers.ModelSerializer):
    kind_label = serializers.SerializerMethodField()
    scan_label = serializers.CharField(
        read_only=True, help_text="« en cours d'analyse » tant que l'antivirus n'a pas rendu son verdict."
    )
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "kind_label",
            "version",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "download_url",
            "scan_status",
            "scan_label",
            "scan_signature",
        ]

    def get_kind_label(self, obj) -> str:
        return obj.get_kind_display()

    def get_download_url(self, obj) -> str:
        return reverse("claim-document-download", kwargs={"id": obj.claim_id, "doc_id": obj.pk})


@extend_schema_serializer(examples=[OpenApiExample("Dépôt", value=EVENT_EXAMPLE, response_only=True)])
class ClaimEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    action_label = serializers.CharField(read_only=True, help_text="L'action en français (common.labels).")

    class Meta:
        model = ClaimEvent
        fields = ["seq", "at", "actor", "action", "action_label", "from_state", "to_state", "comment"]


@extend_schema_serializer(examples=[OpenApiExample("Indu notifié", value=RECOVERY_EXAMPLE, response_only=True)])
class RecoverySerializer(serializers.ModelSerializer):
    """An undue-payment case as the operator follows it: amounts in the terms paid (VAT included where
    the payment carried VAT), the observation deadline, the decision, the order and the letters."""

    state_label = serializers.SerializerMethodField()
    decision_label = serializers.SerializerMethodField()
    observations_deadline = serializers.SerializerMethodField(
        help_text="Fin du délai d'observations (dernier instant du jour, heure de Paris)."
    )
    observations_open = serializers.SerializerMethodField(
        help_text="Vrai tant que des observations peuvent être envoyées (POST …/observations)."
    )
    documents = serializers.SerializerMethodField(
        help_text="Courriers de la procédure (notification, décision) et pièces jointes aux observations."
    )

    class Meta:
        model = Recovery
        fields = [
            "id",
            "claim",
            "state",
            "state_label",
            "amount_notified",
            "grounds",
            "observations_due",
            "observations_deadline",
            "observations_open",
            "observations",
            "observations_received_at",
            "decision",
            "decision_label",
            "decision_reason",
            "amount_due",
            "decided_at",
            "order_reference",
            "order_issued_at",
            "settled_at",
            "settlement_note",
            "opened_at",
            "documents",
        ]

    def get_state_label(self, obj) -> str:
        return obj.get_state_display()

    def get_decision_label(self, obj) -> str:
        return obj.get_decision_display() if obj.decision else ""

    def get_observations_deadline(self, obj) -> datetime:
        return end_of_day(obj.observations_due).isoformat()

    def get_observations_open(self, obj) -> bool:
        return observation_period_open(obj)

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, obj):
        # Prefetched by the view (`documents`, with their uploader): no query per case.
        documents = sorted(obj.documents.all(), key=lambda d: (d.uploaded_at, d.pk))
        return DocumentSerializer(documents, many=True).data
