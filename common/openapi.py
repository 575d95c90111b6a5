"""OpenAPI post-processing shared by every app's API (drf-spectacular hook, see settings).

`common.api.exception_handler` gives every error one body; this documents the errors every
operation may answer whatever its view declares: 404 for an unknown object or page, 400 for
an invalid body.
"""

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
