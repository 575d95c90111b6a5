"""OpenAPI post-processing shared by every app's API (drf-spectacular hook, see settings).

`common.api.exception_handler` gives every error one body; this documents the errors every
operation may answer whatever its view declares: 404 for an unknown object or page, 400 for
an invalid body.
"""

import copy

ERROR_BODY = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object"},
    },
    "required": ["detail", "code", "errors"],
}


def _error(description, example):
    return {"description": description, "content": {"application/json": {"schema": ERROR_BODY, "example": example}}}


NOT_FOUND = _error(
    "Introuvable (objet inconnu, ou page au-delà de la dernière)",
    {"detail": "Non trouvé.", "code": "not_found", "errors": {}},
)
INVALID = _error(
    "Données invalides", {"detail": "Données invalides.", "code": "invalid", "errors": {"field": ["Message."]}}
)
UNAUTHENTICATED = _error(
    "Jeton absent, invalide ou expiré",
    {"detail": "Token non valide.", "code": "authentication_failed", "errors": {}},
)
TOO_LARGE = _error(
    "Corps de requête trop volumineux",
    {"detail": "Corps de requête trop volumineux.", "code": "request_too_large", "errors": {}},
)
UNSUPPORTED = _error(
    "Type de contenu non pris en charge",
    {"detail": "Type de média non supporté.", "code": "unsupported_media_type", "errors": {}},
)


def document_common_errors(result, generator, request, public):
    """A path parameter or a `page` may not exist (404); a request body may be invalid (400), too
    large (413) or of another media type (415); an operation that reads credentials refuses a bad
    token (401), even where it also answers anonymous callers."""
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            pages = any(p.get("name") == "page" and p.get("in") == "query" for p in parameters)
            if "{" in path or pages:
                operation["responses"].setdefault("404", NOT_FOUND)
            if "requestBody" in operation:
                operation["responses"].setdefault("400", INVALID)
                operation["responses"].setdefault("413", TOO_LARGE)
                operation["responses"].setdefault("415", UNSUPPORTED)
            if any(requirement for requirement in operation.get("security", [])):
                operation["responses"].setdefault("401", UNAUTHENTICATED)
    return result


# --- Retries, versions, webhook signatures (common.idempotency, common.concurrency, claims.feed) ----------


def _header(description, schema=None, example=None):
    header = {"description": description, "schema": schema or {"type": "string"}}
    if example is not None:
        header["example"] = example
    return header


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "example": "2f1c7a0e-1b7e-4f57-9a43-5d9f3c2b8e10",
    "description": (
        "Clé choisie par le client (un UUID par requête logique) : un nouvel envoi avec la même clé et le même "
        "corps dans les 24 h renvoie la première réponse réussie (en-tête `Idempotent-Replayed: true`) sans agir "
        "une seconde fois ; la même clé avec une autre requête → 422 ; pendant que la première s'exécute → 409."
    ),
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "example": '"3b1f0c9a6d2e4b7f8a9c0d1e2f3a4b5c"',
    "description": (
        "L'`ETag` lu (ou plusieurs, séparés par des virgules ; `*` : n'importe lequel) : l'action n'est faite que si "
        "la ressource n'a pas changé depuis, sinon 412. Facultatif."
    ),
}
ETAG_HEADER = _header(
    "Version de la ressource, à renvoyer en `If-Match` pour la modifier sans écraser un changement concurrent.",
    example='"3b1f0c9a6d2e4b7f8a9c0d1e2f3a4b5c"',
)
LOCATION_HEADER = _header("Adresse de la ressource créée.", example="/api/v1/claims/7")
REPLAYED_HEADER = _header(
    "`true` quand la réponse est celle, conservée, d'une requête précédente de même `Idempotency-Key`.",
    example="true",
)
# The headers of every webhook POST (operators.webhooks, operators.services.webhooks.webhook_request).
SIGNATURE_HEADERS = {
    "X-Segur-Signature": _header(
        "`sha256=<hex>` : HMAC-SHA256 avec le secret du webhook de `<X-Segur-Timestamp>.<corps brut>`.",
        example="sha256=5d5b0c2f...",
    ),
    "X-Segur-Timestamp": _header(
        "Secondes Unix de l'envoi ; refusez un écart de plus de 5 minutes (rejeu).",
        schema={"type": "string", "pattern": "^[0-9]+$"},
        example="1763910300",
    ),
    "X-Segur-Delivery": _header(
        "Identifiant de la livraison (UUID) : une livraison peut arriver deux fois, dédoublonnez dessus.",
        schema={"type": "string", "format": "uuid"},
    ),
    "X-Segur-Event": _header("Type de l'événement (`type` de l'enveloppe).", example="claim.state_changed"),
}


def _error_response(result, description, example):
    schemas = result.get("components", {}).get("schemas", {})
    schema = {"$ref": "#/components/schemas/Error"} if "Error" in schemas else ERROR_BODY
    return {"description": description, "content": {"application/json": {"schema": schema, "example": example}}}


def _add_headers(operation, codes, headers):
    for code, response in operation.get("responses", {}).items():
        if code in codes:
            response.setdefault("headers", {}).update(headers)


def document_api_flow(result, generator, request, public):
    """Idempotency-Key, If-Match, ETag and Location where the views honour them (their class attributes
    `idempotent_methods`, `if_match_methods`, `etag_methods`, `location_methods`), their error answers,
    and the webhook signature headers as components (`components.headers`, with the `EventEnvelope` body)."""
    from common.exceptions import IdempotencyInProgress, IdempotencyKeyReused, PreconditionFailed

    def example(error):
        return {"detail": error.default_message, "code": error.code, "errors": {}}

    paths = result.get("paths", {})
    for path, _regex, method, callback in generator.endpoints or []:
        operation = paths.get(path, {}).get(method.lower())
        view = getattr(callback, "cls", None)
        if operation is None or view is None:
            continue
        method = method.lower()
        parameters = operation.setdefault("parameters", [])
        responses = operation.setdefault("responses", {})
        if method in getattr(view, "idempotent_methods", ()):
            parameters.append(copy.deepcopy(IDEMPOTENCY_KEY))
            responses.setdefault(
                "409", _error_response(result, "Requête de même clé en cours", example(IdempotencyInProgress))
            )
            responses.setdefault(
                "422",
                _error_response(
                    result, "Clé d'idempotence déjà utilisée pour une autre requête", example(IdempotencyKeyReused)
                ),
            )
            _add_headers(operation, {"200", "201"}, {"Idempotent-Replayed": copy.deepcopy(REPLAYED_HEADER)})
        if method in getattr(view, "if_match_methods", ()):
            parameters.append(copy.deepcopy(IF_MATCH))
            responses.setdefault(
                "412", _error_response(result, "La ressource a changé depuis sa lecture", example(PreconditionFailed))
            )
        if method in getattr(view, "etag_methods", ()):
            _add_headers(operation, {"200", "201"}, {"ETag": copy.deepcopy(ETAG_HEADER)})
        if method in getattr(view, "location_methods", ()):
            _add_headers(operation, {"201"}, {"Location": copy.deepcopy(LOCATION_HEADER)})
    result.setdefault("components", {}).setdefault("headers", {}).update(SIGNATURE_HEADERS)
    return result
