"""The OpenAPI schema as clients generate code from it (drf-spectacular, see settings).

- `AutoSchema`: one tag per resource, readable operationIds (`claims_list`, `claims_submit`,
  `webhooks_rotate_secret`), every field of a response marked required (DRF always sends them),
  and request strings that may not be blank documented with `minLength` (and a non-space
  character when DRF trims them), so the schema refuses what the serializers refuse.
- `ErrorSerializer` / `ERROR_CODES`: the one error body `common.api.exception_handler` sends, its
  `code` an enum of every code the application raises.
- `TokenScheme`: `Authorization: Bearer <token>` (HTTP bearer) or `Token <token>` (operators.auth).
- `document_common_errors`: the errors every operation may answer whatever its view declares.
"""

import copy

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from common.exceptions import IdempotencyInProgress, IdempotencyKeyReused, PreconditionFailed
from common.serializers import InputSerializer

# Every `code` of an API error body: DRF's own, the domain's (common.exceptions and the codes the
# services pass), the edge's (common.middleware, common.views, common.api.lockout). A test greps
# the code base for codes missing here.
ERROR_CODES = (
    # authentication and access
    "not_authenticated",
    "authentication_failed",
    "token_expired",
    "token_revoked",
    "invalid_credentials",
    "locked_out",
    "permission_denied",
    "csrf_failed",
    # the request itself
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "unsupported_media_type",
    "request_too_large",
    "parse_error",
    "bad_request",
    "invalid",
    "throttled",
    # domain rules
    "domain_error",
    "comment_required",
    "empty_file",
    "file_too_large",
    "provider_not_linked",
    "invalid_invitation",
    "conflict",
    "guard_failed",
    "document_scan_pending",
    "document_infected",
    "observations_closed",
    "bank_details_pending",
    "already_member",
    "open_enrolment",
    "account_exists",
    "proconnect_refused",
    "precondition_failed",
    "idempotency_in_progress",
    "idempotency_key_reused",
    # the service
    "service_unavailable",
    "server_error",
)


class ErrorSerializer(serializers.Serializer):
    """Every API error: `{"detail": …, "code": …, "errors": {field: [...]}}` (common.api)."""

    detail = serializers.CharField(help_text="Message en français, pour les personnes.")
    code = serializers.ChoiceField(choices=ERROR_CODES, help_text="Code stable, pour les programmes.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Champ → messages. Un champ imbriqué est nommé par son chemin (`counts.APP`, `attachments.0`) ; "
        "`non_field_errors` pour le corps entier, `guards` pour les conditions d'une transition.",
    )


ERROR_REF = {"$ref": "#/components/schemas/Error"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Secondes à attendre avant de réessayer.",
        "schema": {"type": "integer", "minimum": 0},
    }
}

# A path whose last segment is one of these names an action: its operationId is the path alone
# (`claims_submit`, `webhooks_rotate_secret`), without `_create` / `_retrieve`.
ACTION_SEGMENTS = frozenset(
    {"submit", "withdraw", "resubmit", "revoke", "rotate-secret", "download", "accept", "simulate"}
)


class AutoSchema(SpectacularAutoSchema):
    def get_tags(self):
        """One tag per resource: the path's first segment (`claims`, `webhooks`, …); the operator's
        invitations and their acceptance share `invitations`."""
        tokens = self._tokenize_path()
        if "invitations" in tokens:
            return ["invitations"]
        return [tokens[0] if tokens else "root"]

    def get_operation_id(self):
        tokens = self._tokenize_path()
        if tokens and tokens[-1] in ACTION_SEGMENTS:
            return "_".join(t.replace("-", "_") for t in tokens)
        return super().get_operation_id()

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        # A model serializer sends every one of its fields (null when empty): required, even where
        # the model field has a default. Plain serializers describe dicts: their `required` says.
        if direction == "response" and isinstance(serializer, serializers.ModelSerializer):
            schema["required"] = list(schema.get("properties", {}))
        if direction == "request" and isinstance(serializer, InputSerializer):
            schema["additionalProperties"] = False  # refused by InputSerializer
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(schema, dict) and schema.get("type") == "string":
            blank_refused = (isinstance(field, serializers.CharField) and not field.allow_blank) or isinstance(
                field, serializers.RelatedField
            )
            if blank_refused and "format" not in schema and "enum" not in schema:
                schema.setdefault("minLength", 1)
                if getattr(field, "trim_whitespace", False):
                    schema.setdefault("pattern", r"\S")  # "   " is trimmed to "" and refused
        return schema


class TokenScheme(OpenApiAuthenticationExtension):
    """operators.auth.ExpiringTokenAuthentication: the same token after `Bearer` or `Token`."""

    target_class = "operators.auth.ExpiringTokenAuthentication"
    name = ["bearerAuth", "tokenAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <jeton>` (jeton obtenu par POST /api/v1/auth/token).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Authorization: Token <jeton>` : le même jeton, pour les clients existants.",
            },
        ]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]


def _error(description, example):
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF, "example": example}}}


NOT_FOUND = _error(
    "Introuvable (objet inconnu, ou page au-delà de la dernière)",
    {"detail": "Non trouvé.", "code": "not_found", "errors": {}},
)
INVALID = _error(
    "Données invalides (corps, ou paramètre de requête : valeur inconnue, caractère NUL…)",
    {"detail": "Données invalides.", "code": "invalid", "errors": {"field": ["Message."]}},
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
    """What every operation may answer whatever its view declares: 400 (a query parameter holding
    a NUL or an unknown value, or an invalid body), 404 for a path parameter or a `page` that does
    not exist, 413 and 415 for a body too large or of another media type, 401 where credentials are
    read (even where anonymous callers are also served); `Retry-After` on every 429. Every error
    response then references the `Error` component, and query parameters whose values are an enum
    of the components reference that enum."""
    enums = {
        tuple(sorted(map(str, schema["enum"]))): name
        for name, schema in result.get("components", {}).get("schemas", {}).items()
        if "enum" in schema
    }
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            pages = any(p.get("name") == "page" and p.get("in") == "query" for p in parameters)
            responses.setdefault("400", INVALID)
            if "{" in path or pages:
                responses.setdefault("404", NOT_FOUND)
            if "requestBody" in operation:
                responses.setdefault("413", TOO_LARGE)
                responses.setdefault("415", UNSUPPORTED)
            if any(requirement for requirement in operation.get("security", [])):
                responses.setdefault("401", UNAUTHENTICATED)
            if "429" in responses:
                responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
            for parameter in parameters:
                _reference_enum(parameter, enums)
            operation["responses"] = dict(sorted(responses.items()))
    return result


def _reference_enum(parameter, enums):
    """A query parameter (or its items) listing the values of an enum component references it."""
    schema = parameter.get("schema", {})
    holder, key = (schema, "items") if "items" in schema else (parameter, "schema")
    name = enums.get(tuple(sorted(map(str, holder[key].get("enum", ())))))
    if name:
        holder[key] = {"$ref": f"#/components/schemas/{name}"}


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
    schema = ERROR_REF
    return {"description": description, "content": {"application/json": {"schema": schema, "example": example}}}


def _add_headers(operation, codes, headers):
    for code, response in operation.get("responses", {}).items():
        if code in codes:
            response.setdefault("headers", {}).update(headers)


def document_api_flow(result, generator, request, public):
    """Idempotency-Key, If-Match, ETag and Location where the views honour them (their class attributes
    `idempotent_methods`, `if_match_methods`, `etag_methods`, `location_methods`), their error answers,
    and the webhook signature headers as components (`components.headers`, with the `EventEnvelope` body)."""

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
