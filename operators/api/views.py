"""Operators API: auth token, own operator, enrolment, invitations, webhooks. Thin views over services."""

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.files import BINARY_RESPONSES, DownloadNegotiationMixin
from common.api.permissions import IsOperatorMember, IsPortalUser
from common.api.schema import (
    CONFLICT,
    FILE_ERRORS,
    FORBIDDEN,
    INVALID,
    NOT_SERVED,
    READ_ERRORS,
    THROTTLED,
    UNAUTHENTICATED,
    WRITE_ERRORS,
    error,
    id_parameter,
)
from common.api.views import PaginatedAPIView, paginated
from common.concurrency import created, if_match_guard, make_etag, with_etag
from common.downloads import attachment_response
from common.exceptions import InvalidInput
from common.idempotency import IdempotentMixin
from common.parsers import MultiPartParser
from common.ratelimit import AddressRateThrottle
from operators import selectors, services
from operators.api import serializers as s
from operators.auth import ExpiringTokenAuthentication
from operators.models import Enrolment, Invitation, Webhook, WebhookDelivery
from operators.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER

BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."


# --- Auth ------------------------------------------------------------------------------------------


class AuthTokenView(APIView):
    """Exchange a username and password for an API token (throttled); DELETE revokes the token used."""

    authentication_classes = [ExpiringTokenAuthentication]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "token"

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        summary="Obtenir un jeton d'API",
        request=s.TokenInputSerializer,
        responses={
            200: s.TokenSerializer,
            400: error(
                "Identifiants incorrects",
                example={"detail": BAD_CREDENTIALS, "code": "invalid_credentials", "errors": {}},
            ),
            401: UNAUTHENTICATED,  # an Authorization header is read even here: a bad token is refused
            429: THROTTLED,
        },
        examples=[
            OpenApiExample("Démo", value={"username": "op-alpha", "password": "demo-password"}, request_only=True),
            OpenApiExample("Jeton", value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}, response_only=True),
        ],
        auth=[],
    )
    def post(self, request):
        data = s.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise InvalidInput(BAD_CREDENTIALS, code="invalid_credentials")
        _token, key = services.api_token_issue(user=user, name=services.LOGIN_TOKEN_NAME, replace_oldest=True)
        return Response({"token": key})

    @extend_schema(
        summary="Révoquer le jeton utilisé",
        description="Révoque le jeton de l'en-tête `Authorization` ; les autres jetons du compte restent valides.",
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 429: THROTTLED},
    )
    def delete(self, request):
        services.api_token_revoke(token=request.auth, actor=request.user)  # token authentication only
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Own operator ------------------------------------------------------------------------------


class OperatorProfileView(APIView):
    permission_classes = [IsOperatorMember]

    @extend_schema(summary="Mon opérateur", responses={200: s.OperatorProfileSerializer, **READ_ERRORS})
    def get(self, request):
        operator = selectors.operator_of(user=request.user)
        operator = (
            type(operator)
            .objects.prefetch_related("memberships__user", "referencings", "contracts")
            .get(pk=operator.pk)
        )
        return Response(s.OperatorProfileSerializer(operator, context={"request": request}).data)


class BankDetailsRequestView(IdempotentMixin, APIView):
    permission_classes = [IsOperatorMember]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Demander un changement de coordonnées bancaires",
        description=(
            "Formulaire multipart : le nouvel IBAN, le BIC et le RIB. La demande attend la validation d'un agent ; "
            "d'ici là, les paiements restent versés sur le compte validé auparavant. Une seule demande en attente "
            "à la fois (409 sinon). Rien n'est enregistré si un élément est refusé."
        ),
        request={"multipart/form-data": s.BankDetailsInputSerializer},
        responses={
            201: s.BankDetailsChangeSerializer,
            **WRITE_ERRORS,
            **FILE_ERRORS,
        },
    )
    def post(self, request):
        data = s.BankDetailsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.bank_details_request(
            operator=selectors.operator_of(user=request.user), actor=request.user, **data.validated_data
        )
        return Response(s.BankDetailsChangeSerializer(change).data, status=201)


# --- Enrolment ------------------------------------------------------------------------------------


def _enrolments(user):
    return selectors.enrolments_visible_to(user=user).filter(user=user).prefetch_related("documents", "events")


def enrolment_etag(enrolment):
    """The enrolment's version: every write appends an audit event (a new chain head) and moves `updated_at`."""
    return make_etag("enrolment", enrolment.pk, enrolment.audit_head, enrolment.updated_at.isoformat())


def _lock_enrolment(enrolment):
    return Enrolment.objects.select_for_update(of=("self",)).get(pk=enrolment.pk)


def _enrolment_response(request, enrolment):
    data = s.EnrolmentSerializer(enrolment, context={"request": request}).data
    return with_etag(Response(data), enrolment_etag(enrolment))


class EnrolmentListView(IdempotentMixin, PaginatedAPIView):
    queryset = Enrolment.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsPortalUser]
    etag_methods = location_methods = ("post",)
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Mes demandes d'enrôlement",
        responses={200: s.EnrolmentSerializer(many=True), 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def get(self, request):
        return paginated(self, _enrolments(request.user), s.EnrolmentSerializer)

    @extend_schema(
        summary="Déposer une demande d'enrôlement",
        description=(
            "Formulaire multipart : l'entité (SIREN vérifié), le numéro de référencement ANS, l'IBAN/BIC "
            "(vérifiés) et les quatre pièces. Rien n'est enregistré si un élément est refusé."
        ),
        request={"multipart/form-data": s.EnrolmentInputSerializer},
        responses={
            201: s.EnrolmentSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: CONFLICT,
            **FILE_ERRORS,
        },
    )
    def post(self, request):
        data = s.EnrolmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields, documents, _ = s.split_enrolment_input(data.validated_data)
        enrolment = services.enrolment_submit(user=request.user, documents=documents, **fields)
        enrolment = _enrolments(request.user).get(pk=enrolment.pk)
        location = reverse("enrolment-detail", kwargs={"id": enrolment.pk})
        return created(_enrolment_response(request, enrolment), location)


class EnrolmentDetailView(APIView):
    permission_classes = [IsPortalUser]
    etag_methods = ("get",)

    @extend_schema(
        summary="Une de mes demandes d'enrôlement",
        parameters=[id_parameter("id", "Numéro de la demande d'enrôlement")],
        responses={200: s.EnrolmentSerializer, **READ_ERRORS},
    )
    def get(self, request, id):
        return _enrolment_response(request, get_object_or_404(_enrolments(request.user), pk=id))


class EnrolmentResubmitView(IdempotentMixin, APIView):
    permission_classes = [IsPortalUser]
    etag_methods = if_match_methods = ("post",)
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Renvoyer la demande complétée",
        description="Après une demande de compléments : champs corrigés et/ou nouvelles versions des pièces.",
        parameters=[id_parameter("id", "Numéro de la demande d'enrôlement")],
        request={"multipart/form-data": s.EnrolmentResubmitSerializer},
        responses={
            200: s.EnrolmentSerializer,
            **WRITE_ERRORS,
            **FILE_ERRORS,
        },
    )
    def post(self, request, id):
        enrolment = get_object_or_404(_enrolments(request.user), pk=id)
        data = s.EnrolmentResubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields, documents, comment = s.split_enrolment_input(data.validated_data)
        with if_match_guard(request, lock=lambda: _lock_enrolment(enrolment), etag_of=enrolment_etag):
            enrolment = services.enrolment_resubmit(
                enrolment=enrolment, actor=request.user, documents=documents, comment=comment, **fields
            )
        return _enrolment_response(request, _enrolments(request.user).get(pk=enrolment.pk))


class EnrolmentDocumentDownloadView(DownloadNegotiationMixin, APIView):
    permission_classes = [IsPortalUser]

    @extend_schema(
        summary="Télécharger une pièce d'enrôlement",
        parameters=[id_parameter("id", "Numéro de la demande"), id_parameter("doc_id", "Numéro de la pièce")],
        responses={**BINARY_RESPONSES, **READ_ERRORS, 409: NOT_SERVED},
    )
    def get(self, request, id, doc_id):
        documents = selectors.enrolment_documents_visible_to(user=request.user).filter(enrolment__user=request.user)
        return attachment_response(get_object_or_404(documents, pk=doc_id, enrolment_id=id))


# --- Invitations ----------------------------------------------------------------------------------


class InvitationListView(IdempotentMixin, PaginatedAPIView):
    queryset = Invitation.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Invitations de mon opérateur", responses={200: s.InvitationSerializer(many=True), **READ_ERRORS}
    )
    def get(self, request):
        return paginated(self, selectors.invitations_visible_to(user=request.user), s.InvitationSerializer)

    @extend_schema(
        summary="Inviter un collègue",
        description="Réservé au représentant dont l'enrôlement a été validé. Le lien est envoyé par e-mail.",
        request=s.InvitationInputSerializer,
        responses={201: s.InvitationSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Collègue", value={"email": "collegue@alpha-sante.example"}, request_only=True)],
    )
    def post(self, request):
        data = s.InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        operator = selectors.operator_of(user=request.user)
        invitation = services.invitation_create(
            operator=operator, email=data.validated_data["email"], actor=request.user
        )
        return Response(s.InvitationSerializer(invitation).data, status=201)


class InvitationRevokeView(IdempotentMixin, APIView):
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Révoquer une invitation",
        request=None,
        parameters=[id_parameter("id", "Numéro de l'invitation")],
        responses={200: s.InvitationSerializer, **READ_ERRORS, 409: CONFLICT},
    )
    def post(self, request, id):
        invitation = get_object_or_404(selectors.invitations_visible_to(user=request.user), pk=id)
        invitation = services.invitation_revoke(invitation=invitation, actor=request.user)
        return Response(s.InvitationSerializer(invitation).data)


class InvitationAcceptView(APIView):
    """Anonymous: the invited colleague creates their account with the token received by e-mail."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "invitation"

    @extend_schema(
        summary="Accepter une invitation (création du compte)",
        request=s.InvitationAcceptSerializer,
        responses={201: s.AccountSerializer, 400: INVALID, 429: THROTTLED},
        auth=[],
    )
    def post(self, request):
        data = s.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.invitation_accept(**data.validated_data)
        return Response({"username": user.username, "email": user.email}, status=201)


# --- Webhooks -------------------------------------------------------------------------------------

WEBHOOK_DESCRIPTION = (
    f"Chaque changement d'état d'une demande de l'opérateur est envoyé en POST JSON, signé : "
    f"`{SIGNATURE_HEADER}: sha256=<hex>` = HMAC-SHA256(secret, `<{TIMESTAMP_HEADER}>.<corps>`). "
    "Le secret n'est affiché qu'à la création et au renouvellement."
)


def _webhook(request, id):
    return get_object_or_404(selectors.webhooks_visible_to(user=request.user), pk=id)


def _with_secret(webhook, secret):
    webhook.shown_secret = secret
    return with_etag(Response(s.WebhookWithSecretSerializer(webhook).data), webhook_etag(webhook))


def webhook_etag(webhook):
    """The hook's version: the fields of its representation that change (no updated_at on hooks)."""
    return make_etag(
        "webhook",
        webhook.pk,
        webhook.url,
        webhook.is_active,
        webhook.consecutive_failures,
        webhook.disabled_at and webhook.disabled_at.isoformat(),
        webhook.disabled_reason,
        webhook.secret_rotated_at and webhook.secret_rotated_at.isoformat(),
    )


def _webhook_response(webhook):
    return with_etag(Response(s.WebhookSerializer(webhook).data), webhook_etag(webhook))


def _locked_webhook(pk):
    """The hook's row, locked; a 404 when it was deleted since it was read (a concurrent DELETE)."""
    webhook = Webhook.objects.select_for_update().filter(pk=pk).first()
    if webhook is None:
        raise NotFound()
    return webhook


def _if_match_webhook(request, webhook):
    """With If-Match: lock the hook's row and compare its ETag before writing."""
    return if_match_guard(request, lock=lambda: _locked_webhook(webhook.pk), etag_of=webhook_etag)


class WebhookListView(IdempotentMixin, PaginatedAPIView):
    queryset = Webhook.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]
    etag_methods = location_methods = ("post",)

    @extend_schema(
        summary="Webhooks de mon opérateur",
        description=WEBHOOK_DESCRIPTION,
        responses={200: s.WebhookSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        return paginated(self, selectors.webhooks_visible_to(user=request.user), s.WebhookSerializer)

    @extend_schema(
        summary="Enregistrer un webhook",
        description=WEBHOOK_DESCRIPTION,
        request=s.WebhookInputSerializer,
        responses={201: s.WebhookWithSecretSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample("Récepteur", value={"url": "https://si.alpha-sante.example/segur"}, request_only=True)
        ],
    )
    def post(self, request):
        data = s.WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook, secret = services.webhook_create(
            operator=selectors.operator_of(user=request.user), url=data.validated_data["url"], actor=request.user
        )
        return created(_with_secret(webhook, secret), reverse("webhook-detail", kwargs={"id": webhook.pk}))


class WebhookDetailView(APIView):
    permission_classes = [IsOperatorMember]
    etag_methods = ("get", "patch")
    if_match_methods = ("patch", "delete")

    @extend_schema(
        summary="Un webhook",
        parameters=[id_parameter("id", "Numéro du webhook")],
        responses={200: s.WebhookSerializer, **READ_ERRORS},
    )
    def get(self, request, id):
        return _webhook_response(_webhook(request, id))

    @extend_schema(
        summary="Modifier ou réactiver un webhook",
        parameters=[id_parameter("id", "Numéro du webhook")],
        request=s.WebhookUpdateSerializer,
        responses={200: s.WebhookSerializer, **WRITE_ERRORS},
        examples=[OpenApiExample("Réactiver", value={"is_active": True}, request_only=True)],
    )
    def patch(self, request, id):
        webhook = _webhook(request, id)
        data = s.WebhookUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _if_match_webhook(request, webhook):
            webhook = services.webhook_update(webhook=webhook, actor=request.user, **data.validated_data)
        return _webhook_response(webhook)

    @extend_schema(
        summary="Supprimer un webhook",
        parameters=[id_parameter("id", "Numéro du webhook")],
        responses={204: None, **READ_ERRORS},
    )
    def delete(self, request, id):
        webhook = _webhook(request, id)
        with _if_match_webhook(request, webhook):
            services.webhook_delete(webhook=webhook, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(IdempotentMixin, APIView):
    permission_classes = [IsOperatorMember]
    etag_methods = if_match_methods = ("post",)

    @extend_schema(
        summary="Renouveler le secret d'un webhook",
        description="L'ancien secret cesse aussitôt de signer ; le nouveau n'est affiché qu'ici.",
        parameters=[id_parameter("id", "Numéro du webhook")],
        request=None,
        responses={200: s.WebhookWithSecretSerializer, **READ_ERRORS},
    )
    def post(self, request, id):
        webhook = _webhook(request, id)
        with _if_match_webhook(request, webhook):
            webhook, secret = services.webhook_rotate_secret(webhook=webhook, actor=request.user)
        return _with_secret(webhook, secret)


class WebhookDeliveryListView(PaginatedAPIView):
    queryset = WebhookDelivery.objects.none()  # the model, for the schema; reads go through selectors
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Journal des livraisons d'un webhook",
        parameters=[id_parameter("id", "Numéro du webhook")],
        responses={200: s.WebhookDeliverySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        webhook = _webhook(request, id)
        deliveries = selectors.webhook_deliveries_visible_to(user=request.user).filter(webhook=webhook)
        return paginated(self, deliveries, s.WebhookDeliverySerializer)
