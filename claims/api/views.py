"""Claims API for operators' users: thin views over claims.services, scoped by claims.selectors.

Two checks everywhere: the role gate (an active member of an operator, never an agent), then
the object through `claims_visible_to`, so another operator's claim is a 404.
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import recoveries, selectors, services
from claims.api import serializers as s
from claims.enums import ClaimKind, ClaimState
from claims.models import Claim, ClaimEvent, Document, Recovery
from claims.workflow import lock_claim
from common.api import OrderingFilter
from common.api.files import BINARY_RESPONSES, DownloadNegotiationMixin
from common.api.permissions import IsOperatorMember
from common.api.schema import FILE_ERRORS, INVALID, NOT_SERVED, READ_ERRORS, WRITE_ERRORS, error, id_parameter
from common.api.views import PaginatedAPIView, paginated
from common.concurrency import created, if_match_guard, make_etag, with_etag
from common.downloads import attachment_response
from common.idempotency import IdempotentMixin
from common.parsers import MultiPartParser
from common.roles import operator_id_of
from operators.selectors import operator_of

CLAIM_ID = id_parameter("id", "Numéro de la demande")
RECOVERY_ID = id_parameter("recovery_id", "Numéro de l'indu")


def _claims(request):
    # IsOperatorMember has already read the membership (cached on the user): scoping costs no query.
    return selectors.claims_visible_to(user=request.user).filter(operator_id=operator_id_of(request.user))


def _claim(request, id):
    return get_object_or_404(_claims(request), pk=id)


def claim_etag(claim):
    """The claim's version: every write appends an audit event (a new chain head) and moves `updated_at`."""
    return make_etag("claim", claim.pk, claim.audit_head, claim.updated_at.isoformat())


def _detail(request, claim):
    claim = _claims(request).get(pk=claim.pk)
    return with_etag(Response(s.ClaimDetailSerializer(claim, context={"request": request}).data), claim_etag(claim))


def _if_match(request, claim):
    """With If-Match: lock the claim as the services do (operator first) and compare its ETag first."""
    return if_match_guard(request, lock=lambda: lock_claim(claim), etag_of=claim_etag)


class ClaimFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ClaimState.choices, help_text="État de la demande")
    kind = django_filters.ChoiceFilter(choices=ClaimKind.choices, help_text="Avance ou solde")
    campaign = django_filters.CharFilter(field_name="campaign__code", help_text="Code de la campagne")

    class Meta:
        model = Claim
        fields = ["state", "kind", "campaign"]


class ClaimListView(IdempotentMixin, PaginatedAPIView):
    permission_classes = [IsOperatorMember]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    etag_methods = location_methods = ("post",)
    filterset_class = ClaimFilter
    # `?ordering=` names (API) → model fields or annotations; the deadline is the operator's effective
    # one (claims.selectors.with_effective_deadline), annotated only when sorted on.
    ordering_fields = {
        "created_at": "created_at",
        "submitted_at": "submitted_at",
        "amount": "amount",
        "deadline": "effective_deadline",
    }
    ordering_annotations = {"effective_deadline": selectors.with_effective_deadline}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Claim.objects.none()
        # The list shows only the campaign's code: no operator, schedule or agent joins (bench/RESULTS.md).
        return _claims(self.request).select_related(None).select_related("campaign").order_by("-created_at", "-pk")

    @extend_schema(
        summary="Demandes de mon opérateur",
        description="Les plus récentes d'abord, sauf `ordering` (par exemple `?ordering=deadline` ou "
        "`?ordering=-amount,submitted_at`). Filtre, tri ou page inconnus : 400.",
        responses={200: s.ClaimSerializer(many=True), 400: INVALID, **READ_ERRORS},
    )
    def get(self, request):
        return paginated(self, self.get_queryset(), s.ClaimSerializer)

    @extend_schema(
        summary="Ouvrir une demande (brouillon)",
        request=s.ClaimCreateSerializer,
        responses={201: s.ClaimDetailSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Avance", value={"campaign": "demo", "kind": "advance"}, request_only=True)],
    )
    def post(self, request):
        data = s.ClaimCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_create(
            operator=operator_of(user=request.user), actor=request.user, **data.validated_data
        )
        return created(_detail(request, claim), reverse("claim-detail", kwargs={"id": claim.pk}))


class ClaimDetailView(APIView):
    permission_classes = [IsOperatorMember]
    etag_methods = ("get", "patch")
    if_match_methods = ("patch",)

    @extend_schema(
        summary="Une demande", parameters=[CLAIM_ID], responses={200: s.ClaimDetailSerializer, **READ_ERRORS}
    )
    def get(self, request, id):
        return _detail(request, _claim(request, id))

    @extend_schema(
        summary="Modifier le lien de documentation technique",
        parameters=[CLAIM_ID],
        request=s.ClaimUpdateSerializer,
        responses={200: s.ClaimDetailSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample("Lien", value={"technical_doc_url": "https://docs.example.fr/api"}, request_only=True)
        ],
    )
    def patch(self, request, id):
        claim = _claim(request, id)
        data = s.ClaimUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _if_match(request, claim):
            claim = services.claim_update_details(claim=claim, actor=request.user, **data.validated_data)
        return _detail(request, claim)


def transition_view(name, service, summary, *, with_comment):
    """One POST endpoint per operator transition (submit, withdraw, resubmit)."""

    class TransitionView(IdempotentMixin, APIView):
        permission_classes = [IsOperatorMember]
        etag_methods = if_match_methods = ("post",)

        @extend_schema(
            summary=summary,
            parameters=[CLAIM_ID],
            request=s.CommentSerializer if with_comment else None,
            responses={200: s.ClaimDetailSerializer, **WRITE_ERRORS},
            operation_id=f"claims_{name}",
        )
        def post(self, request, id):
            claim = _claim(request, id)
            kwargs = {}
            if with_comment:
                data = s.CommentSerializer(data=request.data)
                data.is_valid(raise_exception=True)
                kwargs["comment"] = data.validated_data.get("comment", "")
            with _if_match(request, claim):
                claim = service(claim=claim, actor=request.user, **kwargs)
            return _detail(request, claim)

    TransitionView.__name__ = f"Claim{name.title()}View"
    return TransitionView


ClaimSubmitView = transition_view("submit", services.claim_submit, "Déposer la demande", with_comment=False)
ClaimWithdrawView = transition_view("withdraw", services.claim_withdraw, "Retirer la demande", with_comment=True)
ClaimResubmitView = transition_view(
    "resubmit", services.claim_resubmit, "Renvoyer la demande complétée", with_comment=True
)


class DocumentListView(IdempotentMixin, PaginatedAPIView):
    queryset = Document.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]
    location_methods = ("post",)
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Pièces de la demande (toutes versions)",
        parameters=[CLAIM_ID],
        responses={200: s.DocumentSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        claim = _claim(request, id)
        documents = selectors.documents_visible_to(user=request.user).filter(claim=claim).order_by("kind", "-version")
        return paginated(self, documents, s.DocumentSerializer)

    @extend_schema(
        summary="Déposer une pièce",
        description="Formulaire multipart. Un nouveau dépôt du même type crée une nouvelle version.",
        parameters=[CLAIM_ID],
        request={"multipart/form-data": s.DocumentUploadSerializer},
        responses={201: s.DocumentSerializer, **WRITE_ERRORS, **FILE_ERRORS},
    )
    def post(self, request, id):
        claim = _claim(request, id)
        data = s.DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_upload(
            claim=claim, actor=request.user, kind=data.validated_data["kind"], uploaded_file=data.validated_data["file"]
        )
        location = reverse("claim-document-download", kwargs={"id": claim.pk, "doc_id": document.pk})
        return created(Response(s.DocumentSerializer(document).data), location)


class DocumentDownloadView(DownloadNegotiationMixin, APIView):
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Télécharger une pièce",
        parameters=[CLAIM_ID, id_parameter("doc_id", "Numéro de la pièce")],
        responses={**BINARY_RESPONSES, **READ_ERRORS, 409: NOT_SERVED},
    )
    def get(self, request, id, doc_id):
        claim = _claim(request, id)
        documents = selectors.documents_visible_to(user=request.user).filter(claim=claim)
        return attachment_response(get_object_or_404(documents, pk=doc_id))


class ClaimEventListView(PaginatedAPIView):
    queryset = ClaimEvent.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Historique de la demande",
        parameters=[CLAIM_ID],
        responses={200: s.ClaimEventSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        claim = _claim(request, id)
        return paginated(self, claim.events.order_by("seq"), s.ClaimEventSerializer)


def _recoveries(request, claim):
    """The claim's recovery cases, scoped to the caller (another operator's claim is already a 404)."""
    return (
        selectors.recoveries_visible_to(user=request.user)
        .filter(claim=claim)
        .prefetch_related("documents__uploaded_by")
        .order_by("-opened_at", "-pk")
    )


class RecoveryListView(PaginatedAPIView):
    queryset = Recovery.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Indus notifiés sur la demande",
        description=(
            "Montant (tel que versé, TVA comprise le cas échéant), motifs, délai d'observations, courriers, "
            "puis décision, ordre de reversement et état."
        ),
        parameters=[CLAIM_ID],
        responses={200: s.RecoverySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        return paginated(self, _recoveries(request, _claim(request, id)), s.RecoverySerializer)


class RecoveryObservationsView(IdempotentMixin, APIView):
    permission_classes = [IsOperatorMember]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Envoyer des observations sur un indu",
        description=(
            "Formulaire multipart : `text` (obligatoire) et `attachments` (pièces jointes, facultatives). "
            "Possible jusqu'à la fin du délai d'observations (23 h 59, heure de Paris), ensuite 409. "
            "Un nouvel envoi complète le précédent."
        ),
        parameters=[CLAIM_ID, RECOVERY_ID],
        request={"multipart/form-data": s.RecoveryObservationsSerializer},
        responses={
            201: s.RecoverySerializer,
            **WRITE_ERRORS,
            409: error(
                "Délai d'observations expiré, ou indu déjà décidé",
                example={
                    "detail": "Le délai d'observations sur l'indu n° 4 a expiré le 31/12/2026 à 23 h 59 (heure de "
                    "Paris) : vos observations ne peuvent plus être reçues. Une décision motivée vous sera notifiée.",
                    "code": "observations_closed",
                    "errors": {},
                },
            ),
            **FILE_ERRORS,
        },
    )
    def post(self, request, id, recovery_id):
        claim = _claim(request, id)
        case = get_object_or_404(_recoveries(request, claim), pk=recovery_id)
        data = s.RecoveryObservationsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recoveries.recovery_record_observations(
            recovery=case,
            observations=data.validated_data["text"],
            attachments=data.validated_data.get("attachments", []),
            actor=request.user,
        )
        return Response(s.RecoverySerializer(_recoveries(request, claim).get(pk=case.pk)).data, status=201)
