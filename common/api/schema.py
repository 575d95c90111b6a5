"""OpenAPI helpers shared by the API modules: the usual error responses (all of them the `Error`
component, common.openapi) and path parameters."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from common.openapi import ErrorSerializer


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
    "Action impossible dans l'état actuel, ou conditions non remplies (`errors.guards`) ; code "
    "`document_scan_pending` quand la seule raison est une pièce en cours d'analyse antivirus (réessayez)",
    example={
        "detail": "Action « Déposer la demande » impossible : Pièce manquante : Rapport de conformité.",
        "code": "guard_failed",
        "errors": {"guards": ["Pièce manquante : Rapport de conformité."]},
    },
)
THROTTLED = error("Trop de requêtes", example={"detail": "Requête ralentie.", "code": "throttled", "errors": {}})
TOO_LARGE = error(
    "Fichier ou corps trop volumineux",
    example={"detail": "Le fichier dépasse la taille maximale de 20 Mo.", "code": "file_too_large", "errors": {}},
)
UNSUPPORTED = error(
    "Type de fichier refusé",
    example={
        "detail": "Type de fichier refusé : seuls les PDF, PNG et JPEG sont acceptés.",
        "code": "unsupported_media_type",
        "errors": {},
    },
)
FILE_ERRORS = {413: TOO_LARGE, 415: UNSUPPORTED}
# A download of a proof the antivirus has not cleared (common.scanning): never served.
NOT_SERVED = error(
    "Pièce en cours d'analyse antivirus (`document_scan_pending`, réessayez) ou en quarantaine (`document_infected`)",
    example={
        "detail": "Cette pièce est en cours d'analyse antivirus : elle sera téléchargeable dès l'analyse terminée.",
        "code": "document_scan_pending",
        "errors": {},
    },
)

READ_ERRORS = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}
WRITE_ERRORS = {**READ_ERRORS, 400: INVALID, 409: CONFLICT}


def id_parameter(name, description):
    # Ids are positive: the URL patterns only match digits.
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 1, "maximum": 2**53}, OpenApiParameter.PATH, description=description
    )
