"""Input and output serializers of the operators API (kept apart: inputs are only shapes, services decide)."""

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from common.serializers import InputSerializer, StrictBooleanField, StrictCharField, StrictEmailField
from operators import services
from operators.enums import EnrolmentDocumentKind, OperatorKind
from operators.models import (
    BankDetailsChange,
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
    Invitation,
    Operator,
    Webhook,
    WebhookDelivery,
)

# --- Auth -----------------------------------------------------------------------------------------


class TokenInputSerializer(InputSerializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="À envoyer dans l'en-tête `Authorization: Bearer <jeton>` (ou `Authorization: Token <jeton>`)."
    )


# --- Operator profile ------------------------------------------------------------------------------


class OperatorRefSerializer(serializers.Serializer):
    legal_name = serializers.CharField()
    siren = serializers.CharField()


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.get_full_name")
    is_active = serializers.BooleanField()
    joined_at = serializers.DateTimeField(source="created_at")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Alpha",
            value={
                "id": 1,
                "legal_name": "Alpha Santé Messagerie",
                "siren": "123456782",
                "siret": "",
                "kind": "developer",
                "kind_label": "Opérateur développeur",
                "provider": None,
                "referencing_number": "REF-MSS-ALPHA-001",
                "contract_v2_countersigned": True,
                "iban": "FR76…0189",
                "bic": "AGRIFRPP",
                "contact_email": "contact@alpha-sante.mssante.fr",
                "members": [
                    {
                        "username": "op-alpha",
                        "email": "op-alpha@alpha-sante.mssante.fr",
                        "full_name": "",
                        "is_active": True,
                        "joined_at": "2026-11-23T10:00:00+01:00",
                    }
                ],
                "can_invite": True,
            },
            response_only=True,
        )
    ]
)
class OperatorProfileSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    provider = OperatorRefSerializer(allow_null=True)
    referencing_number = serializers.CharField(allow_null=True)
    contract_v2_countersigned = serializers.SerializerMethodField()
    iban = serializers.SerializerMethodField(help_text="IBAN masqué (4 derniers caractères).")
    members = MemberSerializer(source="memberships", many=True)
    can_invite = serializers.SerializerMethodField()

    class Meta:
        model = Operator
        fields = [
            "id",
            "legal_name",
            "siren",
            "siret",
            "kind",
            "kind_label",
            "provider",
            "referencing_number",
            "contract_v2_countersigned",
            "iban",
            "bic",
            "contact_email",
            "members",
            "can_invite",
        ]

    def get_contract_v2_countersigned(self, obj) -> bool:
        return any(c.status == "countersigned" for c in obj.contracts.all())

    def get_iban(self, obj) -> str:
        return f"{obj.iban[:4]}…{obj.iban[-4:]}" if obj.iban else ""

    def get_can_invite(self, obj) -> bool:
        return services.operator_can_invite(user=self.context["request"].user, operator=obj)


# --- Enrolment ------------------------------------------------------------------------------------

PROOF_HELP = "PDF, PNG ou JPEG (reconnu par son contenu), 20 Mo au plus."


VAT_CHOICES = [("true", "Assujettie à la TVA"), ("false", "Non assujettie à la TVA")]
VAT_HELP = (
    "« true » : assujettie (joindre `vat_certificate`) ; « false » : non assujettie, par exemple un "
    "établissement public de santé (joindre `vat_non_liability`)."
)
PROVIDER_SIREN_HELP = "Opérateur acheteur (obligatoire) : SIREN de son opérateur prestataire, développeur. Vide sinon."
PROVIDER_NUMBER_HELP = "Opérateur acheteur (obligatoire) : numéro de référencement ANS de son prestataire. Vide sinon."


class VatLiableField(serializers.ChoiceField):
    """« true » / « false », whatever the case (a multipart form carries text, some clients send "True")."""

    def __init__(self, **kwargs):
        super().__init__(choices=VAT_CHOICES, help_text=VAT_HELP, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).strip().lower() if data is not None else data)


class EnrolmentInputSerializer(InputSerializer):
    """Multipart form: the declared fields and the proofs required by the VAT declaration."""

    legal_name = StrictCharField(max_length=255)
    siren = StrictCharField(max_length=20, help_text="9 chiffres, clé de contrôle vérifiée.")
    siret = StrictCharField(max_length=20, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=OperatorKind.choices)
    provider_siren = StrictCharField(max_length=20, required=False, allow_blank=True, help_text=PROVIDER_SIREN_HELP)
    provider_referencing_number = StrictCharField(
        max_length=64, required=False, allow_blank=True, help_text=PROVIDER_NUMBER_HELP
    )
    referencing_number = StrictCharField(max_length=64)
    iban = StrictCharField(max_length=50)
    bic = StrictCharField(max_length=20)
    contact_email = StrictCharField(max_length=254, required=False, allow_blank=True)
    vat_liable = VatLiableField()
    referencing_certificate = serializers.FileField(allow_empty_file=True, use_url=False, help_text=PROOF_HELP)
    representative_id = serializers.FileField(allow_empty_file=True, use_url=False, help_text=PROOF_HELP)
    bank_details = serializers.FileField(allow_empty_file=True, use_url=False, help_text=PROOF_HELP)
    vat_certificate = serializers.FileField(
        allow_empty_file=True, use_url=False, required=False, help_text=f"Si assujettie. {PROOF_HELP}"
    )
    vat_non_liability = serializers.FileField(
        allow_empty_file=True, use_url=False, required=False, help_text=f"Si non assujettie. {PROOF_HELP}"
    )
    contract_v2 = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        required=False,
        help_text=f"Facultatif : le contrat opérateur MSSanté v2 signé, transmis à l'ANS pour contre-signature. "
        f"{PROOF_HELP}",
    )


class EnrolmentResubmitSerializer(InputSerializer):
    """Multipart form: only the corrected fields and the new proof versions; a comment for the agent."""

    legal_name = StrictCharField(max_length=255, required=False)
    siren = StrictCharField(max_length=20, required=False)
    siret = StrictCharField(max_length=20, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=OperatorKind.choices, required=False)
    provider_siren = StrictCharField(max_length=20, required=False, allow_blank=True)
    provider_referencing_number = StrictCharField(max_length=64, required=False, allow_blank=True)
    referencing_number = StrictCharField(max_length=64, required=False)
    iban = StrictCharField(max_length=50, required=False)
    bic = StrictCharField(max_length=20, required=False)
    contact_email = StrictCharField(max_length=254, required=False, allow_blank=True)
    vat_liable = VatLiableField(required=False)
    referencing_certificate = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    representative_id = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    bank_details = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    vat_certificate = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    vat_non_liability = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    contract_v2 = serializers.FileField(allow_empty_file=True, use_url=False, required=False)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True)


def split_enrolment_input(data):
    """(declared fields, {document kind: file}, comment) from validated input."""
    documents = {kind: data[kind] for kind in EnrolmentDocumentKind.values if data.get(kind) is not None}
    fields = {name: data[name] for name in services.DECLARED_FIELDS if name in data}
    return fields, documents, data.get("comment", "")


class EnrolmentDocumentSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    scan_label = serializers.CharField(
        read_only=True, help_text="« en cours d'analyse » tant que l'antivirus n'a pas rendu son verdict."
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EnrolmentDocument
        fields = [
            "id",
            "kind",
            "kind_label",
            "version",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
            "download_url",
            "scan_status",
            "scan_label",
            "scan_signature",
        ]

    def get_download_url(self, obj) -> str:
        return reverse("enrolment-document-download", kwargs={"id": obj.enrolment_id, "doc_id": obj.pk})


class EnrolmentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    action_label = serializers.CharField(read_only=True, help_text="L'action en français (common.labels).")

    class Meta:
        model = EnrolmentEvent
        fields = ["seq", "at", "actor", "action", "action_label", "from_state", "to_state", "comment"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Compléments demandés",
            value={
                "id": 3,
                "state": "changes_requested",
                "state_label": "Compléments demandés",
                "legal_name": "Omega Messagerie Santé",
                "siren": "732829320",
                "siret": "",
                "kind": "developer",
                "provider_siren": "",
                "provider_referencing_number": "",
                "provider": None,
                "referencing_number": "REF-OMEGA-1",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPP",
                "contact_email": "contact@omega.example",
                "vat_liable": True,
                "required_documents": [
                    "referencing_certificate",
                    "representative_id",
                    "bank_details",
                    "vat_certificate",
                ],
                "agent_message": "Le RIB est illisible.",
                "decision_reason": "",
                "operator": None,
                "created_at": "2026-11-20T09:00:00+01:00",
                "submitted_at": "2026-11-20T09:00:00+01:00",
                "decided_at": None,
                "documents": [
                    {
                        "id": 9,
                        "kind": "bank_details",
                        "kind_label": "Relevé d'identité bancaire (RIB)",
                        "version": 1,
                        "original_name": "rib.pdf",
                        "content_type": "application/pdf",
                        "size": 48213,
                        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        "uploaded_at": "2026-11-20T09:00:00+01:00",
                        "download_url": "/api/v1/enrolments/3/documents/9/download",
                    }
                ],
                "events": [
                    {
                        "seq": 1,
                        "at": "2026-11-20T09:00:00+01:00",
                        "actor": "omega-rep",
                        "action": "submit",
                        "action_label": "Dépôt de la demande d'enrôlement",
                        "from_state": "",
                        "to_state": "pending",
                        "comment": "Demande d'enrôlement déposée.",
                    }
                ],
                "abilities": {"request_changes": False, "resubmit": True, "validate": False, "reject": False},
            },
            response_only=True,
        )
    ]
)
class EnrolmentSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    provider = OperatorRefSerializer(
        allow_null=True, help_text="L'opérateur prestataire rattaché par l'agent (ou à la validation)."
    )
    required_documents = serializers.SerializerMethodField()
    operator = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    documents = EnrolmentDocumentSerializer(many=True)
    events = EnrolmentEventSerializer(many=True)
    abilities = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "state",
            "state_label",
            "legal_name",
            "siren",
            "siret",
            "kind",
            "provider_siren",
            "provider_referencing_number",
            "provider",
            "referencing_number",
            "iban",
            "bic",
            "contact_email",
            "vat_liable",
            "required_documents",
            "agent_message",
            "decision_reason",
            "operator",
            "created_at",
            "submitted_at",
            "decided_at",
            "documents",
            "events",
            "abilities",
        ]

    def get_required_documents(self, obj) -> list[str]:
        return [str(kind) for kind in services.required_enrolment_proof_kinds(vat_liable=obj.vat_liable)]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "boolean"}})
    def get_abilities(self, obj):
        return services.enrolment_abilities(user=self.context["request"].user, enrolment=obj)


# --- Invitations ----------------------------------------------------------------------------------


class InvitationInputSerializer(InputSerializer):
    email = StrictEmailField(max_length=254)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "En attente",
            value={
                "id": 2,
                "email": "collegue@alpha-sante.example",
                "status": "pending",
                "invited_by": "op-alpha",
                "created_at": "2026-11-23T10:00:00+01:00",
                "expires_at": "2026-11-30T10:00:00+01:00",
                "accepted_at": None,
                "revoked_at": None,
            },
            response_only=True,
        )
    ]
)
class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    invited_by = serializers.CharField(source="invited_by.username")

    class Meta:
        model = Invitation
        fields = ["id", "email", "status", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at"]

    @extend_schema_field(serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"]))
    def get_status(self, obj):
        return obj.status_at(timezone.now())


class InvitationAcceptSerializer(InputSerializer):
    token = StrictCharField(max_length=200)
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Compte créé", value={"username": "collegue", "email": "collegue@alpha-sante.example"}, response_only=True
        )
    ]
)
class AccountSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()


# --- Webhooks -------------------------------------------------------------------------------------


class WebhookInputSerializer(InputSerializer):
    url = StrictCharField(max_length=500, help_text="Adresse https joignable sur Internet.")


class WebhookUpdateSerializer(InputSerializer):
    url = StrictCharField(max_length=500, required=False)
    is_active = StrictBooleanField(required=False, help_text="`true` réactive un webhook désactivé.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Actif",
            value={
                "id": 1,
                "url": "https://si.alpha-sante.example/segur",
                "is_active": True,
                "consecutive_failures": 0,
                "disabled_at": None,
                "disabled_reason": "",
                "created_at": "2026-11-23T10:00:00+01:00",
                "secret_rotated_at": None,
            },
            response_only=True,
        )
    ]
)
class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
            "secret_rotated_at",
        ]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Créé (secret affiché une fois)",
            value={
                "id": 1,
                "url": "https://si.alpha-sante.example/segur",
                "is_active": True,
                "consecutive_failures": 0,
                "disabled_at": None,
                "disabled_reason": "",
                "created_at": "2026-11-23T10:00:00+01:00",
                "secret_rotated_at": None,
                "secret": "whsec_5f0c6e8a3b1d4c2e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d",
            },
            response_only=True,
        )
    ]
)
class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="Secret de signature HMAC-SHA256 : affiché une seule fois, conservez-le.", source="shown_secret"
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Livrée",
            value={
                "id": "0f5b7c1e-3a52-4a8e-9d7e-2b8f7d1c6a90",
                "event_key": "claim-event:42",
                "event_type": "claim.state_changed",
                "status": "delivered",
                "attempts": 1,
                "response_status": 200,
                "last_error": "",
                "created_at": "2026-11-23T10:05:00+01:00",
                "last_attempt_at": "2026-11-23T10:05:01+01:00",
                "delivered_at": "2026-11-23T10:05:01+01:00",
                "payload": {"id": "claim-event:42", "type": "claim.state_changed", "data": {"claim": {"id": 7}}},
            },
            response_only=True,
        )
    ]
)
class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_key",
            "event_type",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
            "payload",
        ]


# --- Bank details ---------------------------------------------------------------------------------


class BankDetailsInputSerializer(InputSerializer):
    """Multipart form: the new account and its RIB (checked by content: PDF, PNG or JPEG)."""

    iban = StrictCharField(max_length=50, help_text="Vérifié (clé de contrôle).")
    bic = StrictCharField(max_length=20, help_text="Vérifié.")
    proof = serializers.FileField(
        allow_empty_file=True, use_url=False, help_text="RIB du nouveau compte : PDF, PNG ou JPEG, 20 Mo au plus."
    )
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True)


class BankDetailsChangeSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = BankDetailsChange
        fields = ["id", "state", "state_label", "iban", "bic", "requested_at", "decided_at", "decision_reason"]
