"""`GET /api/v1/events`: the operator's events feed (claims.feed), in the webhooks' envelope."""

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import feed
from claims.enums import FeedEventType
from common.api.permissions import IsOperatorMember
from common.api.schema import FORBIDDEN, INVALID, UNAUTHENTICATED
from common.exceptions import InvalidInput

DEFAULT_LIMIT = 50
BAD_LIMIT = f"Un entier de 1 à {feed.MAX_LIMIT} est attendu."

CLAIM_EVENT_EXAMPLE = {
    "id": "claim-event:42",
    "type": "claim.state_changed",
    "created_at": "2026-11-23T16:05:00+01:00",
    "data": {
        "claim": {
            "id": 7,
            "campaign": "demo",
            "kind": "advance",
            "state": "submitted",
            "amount": "12345.60",
            "url": "/api/v1/claims/7",
        },
        "event": {
            "seq": 3,
            "action": "submit",
            "from_state": "draft",
            "to_state": "submitted",
            "at": "2026-11-23T16:05:00+01:00",
            "actor": "Alice Martin",
            "comment": "",
        },
    },
}


@extend_schema_serializer(examples=[OpenApiExample("Changement d'état", value=CLAIM_EVENT_EXAMPLE)])
class EventEnvelopeSerializer(serializers.Serializer):
    """One event, as POSTed to the webhooks (signed, see `X-Segur-Signature`) and listed by the feed."""

    id = serializers.CharField(
        help_text="Identifiant stable de l'événement, le même dans le webhook et dans le flux : dédoublonnez dessus "
        "(`claim-event:42`, `enrolment-event:3`, `webhook-delivery:<uuid>`)."
    )
    type = serializers.ChoiceField(choices=FeedEventType.choices, help_text="Nature de l'événement.")
    created_at = serializers.DateTimeField(help_text="Date de l'événement (heure de Paris, avec décalage).")
    data = serializers.DictField(
        help_text=(
            "`claim.*` : `{claim: {id, campaign, kind, state, amount, url}, event: {seq, action, from_state, "
            "to_state, at, actor, comment}}` ; `enrolment.*` : `{enrolment: {id, state}, event: {seq, action, "
            "from_state, to_state, at, actor}}` ; `webhook.delivery_failed` : `{webhook: {id, url}, delivery: "
            "{id, event_id, event_type, attempts, response_status, last_error}}`."
        )
    )


class EventPageSerializer(serializers.Serializer):
    cursor = serializers.CharField(
        allow_null=True,
        help_text="Position après le dernier événement de la page : à repasser en `after` à l'appel suivant "
        "(même quand `results` est vide). Null tant que le flux est vide.",
    )
    next = serializers.CharField(
        allow_null=True, help_text="Page suivante, déjà disponible (sinon null : revenez plus tard avec `cursor`)."
    )
    results = EventEnvelopeSerializer(many=True)


def _limit(request):
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= feed.MAX_LIMIT:
        raise InvalidInput(errors={"limit": [BAD_LIMIT]})
    return int(raw)


class EventFeedView(APIView):
    permission_classes = [IsOperatorMember]

    @extend_schema(
        summary="Flux des événements de mon opérateur",
        description=(
            "Les événements des demandes, de l'enrôlement et des webhooks de l'opérateur, du plus ancien au plus "
            "récent (date, puis identifiant), dans l'enveloppe des webhooks. Pour rattraper des événements manqués : "
            "conservez `cursor` et repassez-le en `after`. Les événements des 30 dernières secondes "
            "(`EVENTS_FEED_DELAY_SECONDS`) n'apparaissent qu'ensuite, pour qu'aucun ne soit sauté."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Curseur opaque (`cursor` d'une réponse précédente) ; absent : depuis le début.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": feed.MAX_LIMIT, "default": DEFAULT_LIMIT},
                OpenApiParameter.QUERY,
                description="Nombre d'événements par page.",
            ),
        ],
        responses={200: EventPageSerializer, 400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def get(self, request):
        limit = _limit(request)
        try:
            events, cursor, has_more = feed.operator_events(
                user=request.user, after=request.query_params.get("after"), limit=limit
            )
        except feed.InvalidCursor as error:
            raise InvalidInput(errors={"after": [str(error)]}) from None
        next_url = None
        if has_more:
            next_url = request.build_absolute_uri(request.path) + "?" + urlencode({"after": cursor, "limit": limit})
        return Response({"cursor": cursor, "next": next_url, "results": events})
