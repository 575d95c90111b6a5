"""The OpenAPI schema as clients generate code from it (drf-spectacular, see settings).

- `AutoSchema`: one tag per resource, readable operationIds (`claims_list`, `claims_submit`,
  `webhooks_rotate_secret`), every field of a response marked required (DRF always sends them),
  and request strings that may not be blank documented with `minLength` (and a non-space
  character when DRF trims them), so the schema refuses what the serializers refuse.
- `ErrorSerializer` / `ERROR_CODES`: the one error body `common.api.exception_handler` sends, its
  `code` an enum of every code the application raises.
- `TokenScheme`: `Authorization: Bearer <token>` (HTTP bearer) or `Token <token>` (common.auth).
- `document_common_errors`: the errors every operation may answer whatever its view declares.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from common.serializers import InputSerializer

# Every `code` of an API error body: DRF's own, the domain's (common.exceptions and the codes the
# services pass), the edge's (common.middleware, common.views, operators.api.lockout). A test greps
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
    "observations_closed",
    "bank_details_pending",
    "already_member",
    "open_enrolment",
    "account_exists",
    "proconnect_refused",
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
    """common.auth.ExpiringTokenAuthentication: the same token after `Bearer` or `Token`."""

    target_class = "common.auth.ExpiringTokenAuthentication"
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
