"""OpenAPI helpers shared by the API modules: the error body and the usual error responses."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every API error: `{"detail": …, "code": …, "errors": {field: [...]}}` (common.api)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def error(description, *, example=None):
    examples = [OpenApiExample(description, value=example, response_only=True)] if example else None
    return OpenApiResponse(ErrorSerializer, description=description, examples=examples)


UNAUTHENTICATED = error(
    "Non authentifié",
    example={"detail": "Informations d'authentification non fournies.", "code": "not_authenticated", "errors": {}},
)
FORBIDDEN = error(
    "Réservé aux opérateurs",
    example={
        "detail": "Réservé aux utilisateurs d'un opérateur dont l'enrôlement a été validé.",
        "code": "permission_denied",
        "errors": {},
    },
)
NOT_FOUND = error(
    "Introuvable (ou d'un autre opérateur)", example={"detail": "Pas trouvé.", "code": "not_found", "errors": {}}
)
INVALID = error(
    "Données invalides",
    example={"detail": "Données invalides.", "code": "invalid", "errors": {"field": ["Ce champ est obligatoire."]}},
)
CONFLICT = error(
    "Action impossible dans l'état actuel, ou conditions non remplies (`errors.guards`)",
    example={
        "detail": "Action « Déposer la demande » impossible : Pièce manquante : Rapport de conformité.",
        "code": "guard_failed",
        "errors": {"guards": ["Pièce manquante : Rapport de conformité."]},
    },
)
THROTTLED = error("Trop de requêtes", example={"detail": "Requête ralentie.", "code": "throttled", "errors": {}})

READ_ERRORS = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}
WRITE_ERRORS = {**READ_ERRORS, 400: INVALID, 409: CONFLICT}


def id_parameter(name, description):
    # Ids are positive: the URL patterns only match digits.
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 1, "maximum": 2**53}, OpenApiParameter.PATH, description=description
    )
